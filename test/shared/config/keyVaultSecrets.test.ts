import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { keyVaultSettings } from '../../../shared/config/keyVaultSecrets.js';
import { loadSettings } from '../../../shared/config/loadSettings.js';
import { readSetting } from '../../../shared/config/settingsSource.js';
import { ConfigurationError, RetryableError } from '../../../shared/errors/errors.js';
import { refusedOrigin } from '../../support/loopback.js';
import { startVaultBehindIdentity, type VaultBehindIdentity } from '../../support/keyVaultBehindIdentity.js';
import type { ManagedIdentityTestServer } from '../../support/managedIdentityTestServer.js';
import { forbiddenByRbac, type KeyVaultTestServer } from '../../support/keyVaultTestServer.js';
import type { SelfSignedCertificate } from '../../support/selfSignedCertificate.js';

// The real SecretClient (challenge auth, paging) against an HTTPS vault on loopback, with the real
// ManagedIdentityCredential against the App Service identity endpoint from test/auth. MSAL keeps the managed
// identity source and its token cache in statics: every test of this file shares one identity endpoint.
// TLS: the vault's self-signed certificate is trusted through the client's own `tlsOptions.ca` (the Azure SDK's
// per-pipeline TLS setting), so verification stays on and nothing process-wide changes; the CLI test trusts it
// with NODE_EXTRA_CA_CERTS in the child's environment instead.
const identityHeader = 'kv-identity-header-5e1d';
const vaultResource = 'https://vault.azure.net';

const secretPath = 'Fhir:Authentication:OAuth2ClientCredential:ClientSecret';

describe('Key Vault settings through SecretClient and the managed identity', () => {
  let certificate: SelfSignedCertificate;
  let identity: ManagedIdentityTestServer;
  let vault: KeyVaultTestServer;
  let running: VaultBehindIdentity | undefined;

  before(async () => {
    running = await startVaultBehindIdentity(
      identityHeader,
      (token, identity) => identity.issued.get(token)?.resource === vaultResource,
    );
    ({ certificate, identity, vault } = running);
  });

  after(async () => {
    await running?.close();
  });

  beforeEach(() => {
    vault.secrets.clear();
    vault.requests.length = 0;
    vault.failure = undefined;
    vault.hold = undefined;
    vault.abandoned = 0;
  });

  const env = (extra: Record<string, string> = {}) => ({
    IDENTITY_ENDPOINT: identity.endpoint,
    IDENTITY_HEADER: identityHeader,
    KeyVault__Endpoint: vault.url,
    ...extra,
  });
  const keyVault = () => ({ clientOptions: { tlsOptions: { ca: certificate.cert }, retryOptions: { maxRetries: 0 } } });

  it('loads every enabled secret over paged lists, maps -- to the hierarchy and overrides app settings', async () => {
    const hour = 3600_000;
    vault.setSecret({ name: 'Fhir--Authentication--OAuth2ClientCredential--ClientSecret', value: 'vault-fhir-secret' });
    vault.setSecret({ name: 'DicomWeb--Endpoint', value: 'https://from-vault.dicom.azurehealthcareapis.com' });
    vault.setSecret({ name: 'Patient--PatientSystemId', value: 'urn:oid:1.2.3' });
    vault.setSecret({ name: 'Disabled--Setting', value: 'never-read-1', enabled: false });
    vault.setSecret({ name: 'Expired--Setting', value: 'never-read-2', expires: new Date(Date.now() - hour) });
    vault.setSecret({ name: 'Future--Setting', value: 'never-read-3', notBefore: new Date(Date.now() + hour) });
    vault.setSecret({ name: 'plain-name', value: 'plain' });

    const identityRequestsBefore = identity.requests.length;
    const { settings, sources } = await loadSettings({
      env: env({
        Fhir__Authentication__OAuth2ClientCredential__ClientSecret: 'from-app-settings',
        DicomWeb__Endpoint: 'https://from-app-settings.example.org',
        Fhir__Endpoint: 'https://fhir.example.org',
      }),
      cwd: '/nonexistent',
      keyVault: keyVault(),
    });

    assert.equal(readSetting(settings, secretPath.split(':')), 'vault-fhir-secret');
    assert.equal(readSetting(settings, ['DicomWeb', 'Endpoint']), 'https://from-vault.dicom.azurehealthcareapis.com');
    assert.equal(readSetting(settings, ['Patient', 'PatientSystemId']), 'urn:oid:1.2.3');
    assert.equal(readSetting(settings, ['plain-name']), 'plain');
    assert.equal(readSetting(settings, ['Fhir', 'Endpoint']), 'https://fhir.example.org');
    for (const name of ['Disabled', 'Expired', 'Future'])
      assert.equal(readSetting(settings, [name, 'Setting']), undefined);

    assert.deepEqual(sources.keyVault, {
      endpoint: vault.url,
      credential: 'system-assigned managed identity',
      loaded: [
        'DicomWeb--Endpoint',
        'Fhir--Authentication--OAuth2ClientCredential--ClientSecret',
        'Patient--PatientSystemId',
        'plain-name',
      ],
      skipped: ['Disabled--Setting', 'Expired--Setting', 'Future--Setting'],
    });

    // Challenge first (no token, no body), then the managed identity's token for the vault resource.
    assert.equal(vault.requests[0]?.token, undefined);
    const listPages = vault.requests.filter((request) => request.path === '/secrets' && request.token !== undefined);
    assert.equal(listPages.length, 4, '7 secrets at 2 per page');
    assert.ok(
      vault.requests.every((request) => request.apiVersion),
      'every request names the api-version',
    );
    const reads = vault.requests
      .filter((request) => request.path.startsWith('/secrets/'))
      .map((request) => request.path);
    assert.ok(!reads.some((path) => /Disabled|Expired|Future/.test(path)), 'inactive secrets are not read');
    // First test of the file: MSAL's cache is empty, so exactly one identity request.
    assert.deepEqual(identity.requests.slice(identityRequestsBefore), [
      { resource: vaultResource, apiVersion: '2019-08-01', clientId: null, identityHeader },
    ]);
  });

  it('reads the vault as the user-assigned identity named by KeyVault:ClientId', async () => {
    const clientId = '3c4f1d2e-0000-4000-8000-00000000aaaa';
    vault.setSecret({ name: 'DicomCast--Schedule', value: '0 */5 * * * *' });
    const identityRequestsBefore = identity.requests.length;
    const { settings, sources } = await loadSettings({
      env: env({ KeyVault__ClientId: clientId }),
      cwd: '/nonexistent',
      keyVault: keyVault(),
    });
    assert.equal(readSetting(settings, ['DicomCast', 'Schedule']), '0 */5 * * * *');
    assert.equal(sources.keyVault?.credential, `user-assigned managed identity ${clientId} (KeyVault:ClientId)`);
    assert.deepEqual(
      identity.requests.slice(identityRequestsBefore).map((request) => request.clientId),
      [clientId],
    );
  });

  it('skips the vault when KeyVault:Endpoint is not set', async () => {
    const { settings, sources } = await loadSettings({ env: { Fhir__Endpoint: 'https://f' }, cwd: '/nonexistent' });
    assert.equal(sources.keyVault, undefined);
    assert.equal(readSetting(settings, ['Fhir', 'Endpoint']), 'https://f');
    assert.equal(vault.requests.length, 0);
  });

  async function loadFailure(options: Parameters<typeof loadSettings>[0]): Promise<Error> {
    return loadSettings(options).then(
      () => assert.fail('expected the load to fail'),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        return error;
      },
    );
  }

  it('403 from the vault is a ConfigurationError naming the vault and the Key Vault Secrets User role', async () => {
    vault.setSecret({ name: 'A', value: 'value-a' });
    vault.failure = { status: 403, body: forbiddenByRbac };
    const error = await loadFailure({ env: env(), cwd: '/nonexistent', keyVault: keyVault() });
    assert.ok(error instanceof ConfigurationError, inspect(error));
    assert.equal(error.location.setting, keyVaultSettings.endpoint);
    assert.match(error.message, new RegExp(`Key Vault ${vault.url.replace(/[.]/g, '\\.')}`));
    assert.match(error.message, /HTTP 403 Forbidden\/ForbiddenByRbac/);
    assert.match(error.message, /system-assigned managed identity lacks the Key Vault Secrets User role/);
    assert.ok(!error.message.includes('oid='), 'only the first line of the service message');
  });

  it('403 ForbiddenByFirewall points at the vault network rules', async () => {
    vault.setSecret({ name: 'A', value: 'value-a' });
    vault.failure = {
      status: 403,
      body: {
        error: {
          code: 'Forbidden',
          message: 'Client address is not authorized and caller is not a trusted service.',
          innererror: { code: 'ForbiddenByFirewall' },
        },
      },
    };
    const error = await loadFailure({ env: env(), cwd: '/nonexistent', keyVault: keyVault() });
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /firewall refused this client's address/);
  });

  it('a 503 while reading a secret is a RetryableError naming the vault, without any value read', async () => {
    vault.setSecret({ name: 'A', value: 'first-value-read' });
    vault.setSecret({ name: 'B', value: 'second-value' });
    vault.failure = {
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: 'Try later.' } },
      path: /^\/secrets\/B/,
    };
    const error = await loadFailure({ env: env(), cwd: '/nonexistent', keyVault: keyVault() });
    assert.ok(error instanceof RetryableError && !(error instanceof ConfigurationError), inspect(error));
    assert.match(
      error.message,
      /reading the secrets failed: HTTP 503 ServiceUnavailable: Try later \(setting KeyVault:Endpoint\)$/,
    );
    assert.ok(!inspect(error, { showHidden: true, depth: 10 }).includes('first-value-read'));
  });

  it('a failed read cancels the reads still in flight instead of waiting for them', async () => {
    vault.setSecret({ name: 'A', value: 'first-value-fails' });
    vault.setSecret({ name: 'B', value: 'second-value-slow' });
    vault.hold = { path: /^\/secrets\/B/, releaseAfterMs: 5_000 };
    vault.failure = {
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: 'Try later.' } },
      path: /^\/secrets\/A/,
    };
    const error = await loadFailure({ env: env(), cwd: '/nonexistent', keyVault: { ...keyVault(), concurrency: 2 } });
    assert.ok(error instanceof RetryableError, inspect(error));
    assert.match(error.message, /reading the secrets failed: HTTP 503 ServiceUnavailable/);
    // The slow read's connection was closed by the client, not answered: the load did not wait for it.
    for (let waited = 0; vault.abandoned === 0 && waited < 3_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(vault.abandoned, 1);
  });

  it('an untrusted certificate is a RetryableError that says TLS', async () => {
    const error = await loadFailure({
      env: env(),
      cwd: '/nonexistent',
      keyVault: { clientOptions: { retryOptions: { maxRetries: 0 } } },
    });
    assert.ok(error instanceof RetryableError, inspect(error));
    assert.match(error.message, /TLS: the certificate of 127\.0\.0\.1:\d+ is not accepted/);
  });

  it('a refused connection is a RetryableError that says so', async () => {
    const endpoint = (await refusedOrigin()).replace('http:', 'https:');
    const error = await loadFailure({
      env: env({ KeyVault__Endpoint: endpoint }),
      cwd: '/nonexistent',
      keyVault: keyVault(),
    });
    assert.ok(error instanceof RetryableError, inspect(error));
    assert.match(error.message, /listing the secrets failed: connection refused by 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('a vault that does not answer is a RetryableError once the time budget is spent', async () => {
    const hanging = createHttpsServer({ cert: certificate.cert, key: certificate.key }, () => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = hanging.address() as AddressInfo;
      const error = await loadFailure({
        env: env({ KeyVault__Endpoint: `https://127.0.0.1:${port}` }),
        cwd: '/nonexistent',
        keyVault: { ...keyVault(), timeoutMs: 300 },
      });
      assert.ok(error instanceof RetryableError, inspect(error));
      assert.match(error.message, /listing the secrets failed: timed out after 0\.3 s/);
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  it('an identity that cannot get a token for the vault is named in the error', async () => {
    identity.deniedResources.add(vaultResource);
    try {
      // A client id MSAL has no cached token for.
      const clientId = '3c4f1d2e-0000-4000-8000-00000000bbbb';
      const error = await loadFailure({
        env: env({ KeyVault__ClientId: clientId }),
        cwd: '/nonexistent',
        keyVault: keyVault(),
      });
      assert.match(error.message, new RegExp(`user-assigned managed identity ${clientId}`));
      assert.match(error.message, /could not get a token for the vault/);
      assert.ok(!inspect(error, { showHidden: true }).includes(identityHeader));
    } finally {
      identity.deniedResources.delete(vaultResource);
    }
  });

  it('rejects a KeyVault:Endpoint that is not https, or still a literal reference', async () => {
    for (const endpoint of ['http://cast-kv.vault.azure.net', 'cast-kv', 'https://user:pw@cast-kv.vault.azure.net']) {
      const error = await loadFailure({ env: { KeyVault__Endpoint: endpoint }, cwd: '/nonexistent' });
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.location.setting, 'KeyVault:Endpoint');
      assert.ok(!error.message.includes('pw@'));
    }
    const error = await loadFailure({
      env: { 'KeyVault:Endpoint': '@Microsoft.KeyVault(VaultName=cast-kv;SecretName=kv-url)' },
      cwd: '/nonexistent',
    });
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /Setting KeyVault:Endpoint is still a literal Key Vault reference/);
    assert.ok(!error.message.includes('kv-url'));
  });
});
