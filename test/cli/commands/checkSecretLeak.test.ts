import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run as runCheck } from '../../../cli/commands/check.js';
import { processIo } from '../../../cli/io.js';
import { startDicomServer, type RunningDicomServer } from '../../../dev/dicom-server/index.js';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { refusedOrigin } from '../../support/loopback.js';
import {
  startManagedIdentityTestServer,
  type ManagedIdentityTestServer,
} from '../../support/managedIdentityTestServer.js';
import { startOAuth2TestServer, type OAuth2TestServer } from '../../support/oauth2TestServer.js';
import { assertNoneLeaked, captureOutput } from '../../support/captureOutput.js';
import { startKeyVaultTestServer, type KeyVaultTestServer } from '../../support/keyVaultTestServer.js';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '../../support/selfSignedCertificate.js';

// Whatever `check` finds, its output (and anything else written to the console meanwhile) never holds a client
// secret, a password, a storage key or SAS, a Key Vault secret value, the identity header or a token.
const clientSecret = 'Leak~client~secret~4c1f';
const password = 'Leak~user~password~e9a2';
const accountKey = Buffer.from('leak-storage-account-key-0123456789').toString('base64');
const sasSignature = 'leakSasSignature0a1b2c3d4e5f';
const vaultValue = 'Leak~vault~value~51d0';
const identityHeader = 'leak-check-identity-header-22';

describe('no secret leaks from dicom-cast check output', () => {
  let tokens: OAuth2TestServer;
  let identity: ManagedIdentityTestServer;
  let dicom: RunningDicomServer;
  let fhir: RunningFhirServer;
  let certificate: SelfSignedCertificate;
  let vault: KeyVaultTestServer;
  let refused: string;
  const saved = new Map<string, string | undefined>();
  const outputs: string[] = [];

  before(async () => {
    for (const key of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_CLIENT_ID']) {
      saved.set(key, process.env[key]);
      delete process.env[key];
    }
    certificate = await createSelfSignedCertificate();
    identity = await startManagedIdentityTestServer(identityHeader);
    process.env.IDENTITY_ENDPOINT = identity.endpoint;
    process.env.IDENTITY_HEADER = identityHeader;
    tokens = await startOAuth2TestServer({
      expected: { grantType: 'password', clientId: 'cast', clientSecret, username: 'cast-user', password },
      now: Date.now,
    });
    const valid = (header: string | undefined) => tokens.isValid(header?.replace(/^Bearer /, '') ?? '');
    dicom = await startDicomServer({ authorize: valid });
    fhir = await startFhirServer({ authorize: () => false });
    vault = await startKeyVaultTestServer({
      cert: certificate.cert,
      key: certificate.key,
      isValidToken: (token) => identity.issued.has(token),
    });
    refused = await refusedOrigin();
  });

  after(async () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await Promise.all([tokens.close(), identity.close(), dicom.close(), fhir.close(), vault.close()]);
    await certificate.dispose();
  });

  const settings = (extra: Record<string, string> = {}): Record<string, string> => ({
    AzureWebJobsStorage: `DefaultEndpointsProtocol=http;AccountName=leaky;AccountKey=${accountKey};QueueEndpoint=${refused}/leaky;TableEndpoint=${refused}/leaky`,
    DicomWeb__Endpoint: dicom.url,
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'OAuth2UserPasswordCredential',
    DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: tokens.tokenUri,
    DicomWeb__Authentication__OAuth2ClientCredential__ClientId: 'cast',
    DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret: clientSecret,
    DicomWeb__Authentication__OAuth2ClientCredential__Username: 'cast-user',
    DicomWeb__Authentication__OAuth2ClientCredential__Password: password,
    Fhir__Endpoint: fhir.url,
    Fhir__Authentication__Enabled: 'true',
    IDENTITY_ENDPOINT: identity.endpoint,
    IDENTITY_HEADER: identityHeader,
    ...extra,
  });

  async function check(env: Record<string, string>, vaultOptions = false): Promise<number> {
    const lines: string[] = [];
    let code = -1;
    const console = await captureOutput(async () => {
      code = await runCheck(
        ['--timeout', '3'],
        processIo({
          settings: {
            env,
            cwd: '/nonexistent',
            ...(vaultOptions
              ? {
                  keyVault: {
                    clientOptions: { tlsOptions: { ca: certificate.cert }, retryOptions: { maxRetries: 0 } },
                    concurrency: 1,
                  },
                }
              : {}),
          },
          out: (line) => lines.push(line),
        }),
      );
    });
    outputs.push(lines.join('\n'), console);
    return code;
  }

  it('covers failing and passing runs without printing a secret', async () => {
    // Token endpoint echoing the credentials back; FHIR refusing the managed identity; storage refusing connections.
    tokens.failure = {
      status: 400,
      body: {
        error: `invalid_client ${clientSecret}`,
        error_description: `secret ${clientSecret} / ${password} rejected`,
      },
    };
    assert.equal(await check(settings()), 1);
    tokens.failure = undefined;

    // Tokens obtained and used (the DICOM server accepts, the FHIR server answers 401 to the search).
    assert.equal(await check(settings()), 1);
    assert.ok(tokens.issued.length > 0 && identity.issued.size > 0);

    // Settings holding secrets where they do not belong.
    assert.equal(
      await check(
        settings({
          DicomCast__MaxPollSeconds: clientSecret,
          DicomWeb__Endpoint: `https://cast:${password}@dicom.invalid`,
          Fhir__Endpoint: `not a url ${clientSecret}`,
          Patient__PatientSystemId: `@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/${vaultValue})`,
          AzureWebJobsStorage: `QueueEndpoint=${refused}/q;TableEndpoint=${refused}/t;SharedAccessSignature=sv=2022-11-02&sig=${sasSignature}`,
        }),
      ),
      1,
    );

    // The DICOM password from the vault; then the vault failing after that value was read, echoing it.
    vault.setSecret({ name: 'A--Unused', value: vaultValue });
    vault.setSecret({ name: 'DicomWeb--Authentication--OAuth2ClientCredential--Password', value: password });
    const withVault = settings({
      KeyVault__Endpoint: vault.url,
      DicomWeb__Authentication__OAuth2ClientCredential__Password: 'placeholder',
    });
    assert.equal(await check(withVault, true), 1);
    vault.failure = {
      status: 500,
      path: /^\/secrets\/DicomWeb/,
      body: { error: { code: 'InternalError', message: `oops ${vaultValue} ${identityHeader}` } },
    };
    assert.equal(await check(withVault, true), 1);
    vault.failure = undefined;

    const everything = outputs.join('\n');
    assert.match(everything, /token: .*HTTP 400 invalid_client/);
    assert.match(everything, /Key Vault https:\/\/127\.0\.0\.1:\d+: 2 secrets loaded/);
    assert.match(everything, /reading the secrets failed: HTTP 500 InternalError: oops \*\*\* \*\*\*/);
    assert.match(everything, /queue service .*: connection refused/);
    assertNoneLeaked(
      outputs,
      [
        clientSecret,
        password,
        accountKey,
        sasSignature,
        vaultValue,
        identityHeader,
        ...tokens.issued,
        ...identity.issued.keys(),
      ],
      'the check output',
    );
  });
});
