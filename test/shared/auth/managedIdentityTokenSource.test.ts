import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { createAuthorizationProvider } from '../../../shared/auth/createAuthorizationProvider.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import {
  startManagedIdentityTestServer,
  type ManagedIdentityTestServer,
  useLoopbackManagedIdentity,
} from '../../support/managedIdentityTestServer.js';
import { startProtectedResourceServer } from '../../support/protectedResourceServer.js';

// MSAL picks the managed identity source once per process and keeps it (and its token cache) in statics,
// so every test here shares one identity endpoint and asks for its own resource.
const identityHeader = 'identity-header-secret-0f3c';

describe('ManagedIdentity through @azure/identity and the App Service identity protocol', () => {
  let identity: ManagedIdentityTestServer;
  let restoreEnvironment: () => void = () => undefined;

  before(async () => {
    identity = await startManagedIdentityTestServer(identityHeader);
    restoreEnvironment = useLoopbackManagedIdentity(identity.endpoint, identityHeader);
  });

  after(async () => {
    restoreEnvironment();
    await identity.close();
  });

  it('system-assigned, DicomWeb: asks for the DICOM audience over plain http loopback', async () => {
    const dicomEndpoint = 'https://ws-dicom.dicom.azurehealthcareapis.com';
    const config = loadAuthConfig({ DicomWeb__Authentication__Enabled: 'true' }, 'DicomWeb', dicomEndpoint);
    const provider = createAuthorizationProvider(config, dicomEndpoint);
    const header = await provider.authorizationFor(`${dicomEndpoint}/v2/changefeed`);
    assert.match(header ?? '', /^Bearer mi-[0-9a-f]{32}$/);
    assert.equal(identity.requests.length, 1);
    assert.deepEqual(identity.requests[0], {
      resource: 'https://dicom.healthcareapis.azure.com',
      apiVersion: '2019-08-01',
      clientId: null,
      identityHeader,
    });
    // Cached: no second call to the identity endpoint.
    assert.equal(await provider.authorizationFor(`${dicomEndpoint}/v2/studies`), header);
    assert.equal(identity.requests.length, 1);
  });

  it('user-assigned, Fhir: sends the client id and the FHIR endpoint as audience; the resource server accepts it', async () => {
    const clientId = '6e2b2f1a-5b9e-4b1e-9a53-2f1f0c9d7a11';
    const requestsBefore = identity.requests.length;
    const fhir = await startProtectedResourceServer((token) => identity.issued.get(token)?.clientId === clientId);
    try {
      const config = loadAuthConfig(
        {
          Fhir__Authentication__Enabled: 'true',
          Fhir__Authentication__AuthenticationType: 'ManagedIdentity',
          Fhir__Authentication__ManagedIdentityCredential__ClientId: clientId,
        },
        'Fhir',
        fhir.origin,
      );
      const client = createServerHttpClient({
        baseUrl: fhir.origin,
        authorization: createAuthorizationProvider(config, fhir.origin),
      });
      const response = await client.get('Patient');
      assert.equal(response.status, 200);
      const received = identity.requests.slice(requestsBefore);
      assert.equal(received.length, 1);
      assert.deepEqual(received[0], { resource: fhir.origin, apiVersion: '2019-08-01', clientId, identityHeader });
    } finally {
      await fhir.close();
    }
  });

  it('a refusal from the identity endpoint is a RetryableError naming the identity and audience', async () => {
    const resource = 'https://denied.example.org';
    identity.deniedResources.add(resource);
    const config = loadAuthConfig(
      {
        DicomWeb__Authentication__Enabled: 'true',
        DicomWeb__Authentication__ManagedIdentityCredential__Resource: resource,
      },
      'DicomWeb',
      'https://ws-dicom.dicom.azurehealthcareapis.com',
    );
    const provider = createAuthorizationProvider(config, 'https://ws-dicom.dicom.azurehealthcareapis.com');
    const error = await provider.authorizationFor('https://ws-dicom.dicom.azurehealthcareapis.com/v2/studies').then(
      () => assert.fail('expected a failure'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof RetryableError, String(error));
    assert.match(
      error.message,
      /system-assigned managed identity could not get a token for https:\/\/denied\.example\.org/,
    );
    assert.ok(!String(error).includes(identityHeader));
    assert.ok(!JSON.stringify(error).includes(identityHeader));
  });
});
