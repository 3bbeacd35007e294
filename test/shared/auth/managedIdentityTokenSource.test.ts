import assert from 'node:assert/strict';
import { AuthenticationError, type TokenCredential } from '@azure/identity';
import { after, before, describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { createAuthorizationProvider } from '../../../shared/auth/createAuthorizationProvider.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
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

describe('ManagedIdentity: what a failure of the credential becomes', () => {
  // The credential is replaced here: these are the answers @azure/identity reports (AuthenticationError carries the
  // identity endpoint's HTTP status), which the loopback identity endpoint above cannot all provoke.
  const dicomEndpoint = 'https://ws-dicom.dicom.azurehealthcareapis.com';
  const failingWith = (failure: unknown, scopes: string[] = []): TokenCredential => ({
    getToken: (scope) => {
      scopes.push(String(scope));
      if (failure === null) return Promise.resolve(null);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a non-Error is one of the cases
      return Promise.reject(failure);
    },
  });
  const failureOf = async (credential: TokenCredential, settings: Record<string, string> = {}) => {
    const config = loadAuthConfig(
      { DicomWeb__Authentication__Enabled: 'true', ...settings },
      'DicomWeb',
      dicomEndpoint,
    );
    const provider = createAuthorizationProvider(config, dicomEndpoint, { credential });
    return provider.authorizationFor(`${dicomEndpoint}/v2/studies`).then(
      () => assert.fail('expected a failure'),
      (caught: unknown) => caught,
    );
  };

  it('a 4xx refusal (not 408 or 429) is a configuration error naming the audience setting, not retried', async () => {
    const scopes: string[] = [];
    for (const status of [400, 403, 404, 499]) {
      const error = await failureOf(
        failingWith(new AuthenticationError(status, { error: 'invalid_resource' }), scopes),
      );
      assert.ok(error instanceof NonRetryableError, `${status}: ${String(error)}`);
      assert.equal(error.category, 'configuration');
      assert.equal(error.location.setting, 'DicomWeb:Authentication:ManagedIdentityCredential:Resource');
      assert.match(
        error.message,
        /^The system-assigned managed identity could not get a token for https:\/\/dicom\.healthcareapis\.azure\.com \(the DicomWeb server\): /,
      );
    }
    assert.deepEqual(new Set(scopes), new Set(['https://dicom.healthcareapis.azure.com/.default']));
  });

  it('408, 429, 5xx, a status that is not a number, and no status at all are transient', async () => {
    const failures: unknown[] = [
      ...[399, 408, 429, 500, 503].map((status) => new AuthenticationError(status, { error: 'busy' })),
      Object.assign(new Error('refused'), { statusCode: '400' }),
      new Error('connect ECONNREFUSED'),
      null, // a credential that answers no token
    ];
    for (const failure of failures) {
      const error = await failureOf(failingWith(failure));
      assert.ok(error instanceof RetryableError, String(error));
      assert.equal(error.category, 'transient');
      assert.equal(error.location.setting, 'DicomWeb:Authentication:ManagedIdentityCredential:Resource');
    }
    const none = await failureOf(failingWith(null));
    assert.match(String((none as Error).message), /: no token returned/);
  });

  it('names the user-assigned identity by its ClientId setting', async () => {
    const error = await failureOf(failingWith(new AuthenticationError(400, { error: 'invalid_client' })), {
      DicomWeb__Authentication__ManagedIdentityCredential__ClientId: '6e2b2f1a-5b9e-4b1e-9a53-2f1f0c9d7a11',
    });
    assert.ok(error instanceof NonRetryableError);
    assert.match(
      error.message,
      /^The user-assigned managed identity \(DicomWeb:Authentication:ManagedIdentityCredential:ClientId\) could not/,
    );
  });

  it('keeps the credential’s reason, without the identity header, at most 500 characters', async () => {
    const restore = useLoopbackManagedIdentity('http://127.0.0.1:1/msi/token', identityHeader);
    try {
      const echoed = await failureOf(failingWith(new Error(`bad header ${identityHeader} sent`)));
      assert.match((echoed as Error).message, /: bad header \*\*\* sent/);
      assert.ok(!(echoed as Error).message.includes(identityHeader));

      const long = await failureOf(failingWith(new Error(`start ${'x'.repeat(2000)}`)));
      const reason = (long as Error).message.split(' server): ')[1] ?? '';
      assert.equal(reason.split(' (setting')[0]?.length, 500);

      const odd = await failureOf(failingWith('a string, not an Error'));
      assert.match((odd as Error).message, /: unknown error/);
    } finally {
      restore();
    }
  });
});
