import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadSettings, type LoadSettingsOptions } from '../../../shared/config/loadSettings.js';
import { startVaultBehindIdentity, type VaultBehindIdentity } from '../../support/keyVaultBehindIdentity.js';
import type { ManagedIdentityTestServer } from '../../support/managedIdentityTestServer.js';
import { assertNoneLeaked, captureOutput, renderings } from '../../support/captureOutput.js';
import type { KeyVaultTestServer } from '../../support/keyVaultTestServer.js';
import type { SelfSignedCertificate } from '../../support/selfSignedCertificate.js';

// The secret-leak test of test/auth, for Key Vault loading: whatever fails, neither the error (in any rendering)
// nor the console carries a secret value read from the vault, the identity endpoint's header, or a token.
const identityHeader = 'leak-identity-header-Zq81x';
const first = 'kv~first~secret~value~3b9d';
const second = 'kv~second~secret~value~77e0';

describe('no Key Vault secret leaks from a loading failure', () => {
  let certificate: SelfSignedCertificate;
  let identity: ManagedIdentityTestServer;
  let vault: KeyVaultTestServer;
  let running: VaultBehindIdentity | undefined;
  const errors: unknown[] = [];

  before(async () => {
    running = await startVaultBehindIdentity(identityHeader, (token, identity) => identity.issued.has(token));
    ({ certificate, identity, vault } = running);
  });

  after(async () => {
    await running?.close();
  });

  beforeEach(() => {
    errors.length = 0;
    vault.secrets.clear();
    vault.failure = undefined;
    // Read in name order, one at a time: A-First is always read before B-Second fails.
    vault.setSecret({ name: 'A-First', value: first });
    vault.setSecret({ name: 'B-Second', value: second });
  });

  const options = (extra: Partial<LoadSettingsOptions> = {}): LoadSettingsOptions => ({
    env: { IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identityHeader, KeyVault__Endpoint: vault.url },
    cwd: '/nonexistent',
    keyVault: {
      clientOptions: { tlsOptions: { ca: certificate.cert }, retryOptions: { maxRetries: 0 } },
      concurrency: 1,
    },
    ...extra,
  });

  async function expectFailure(load: () => Promise<unknown>): Promise<void> {
    try {
      await load();
    } catch (error) {
      errors.push(error);
      // What the Functions host would do with a failed getRuntime().
      console.error('runtime failed', error);
      console.log(`runtime failed: ${String(error)}`);
      return;
    }
    assert.fail('expected a failure');
  }

  const known = () => [first, identityHeader, ...identity.issued.keys()];

  function assertNoLeak(output: string, expectedFailures: number) {
    assert.equal(errors.length, expectedFailures);
    assertNoneLeaked([output], known(), 'the console');
    for (const error of errors) assertNoneLeaked(renderings(error), known(), 'an error');
  }

  it('a careless vault echoing values already read and the identity header in its errors', async () => {
    const output = await captureOutput(async () => {
      for (const status of [500, 403, 400, 401, 429]) {
        vault.failure = {
          status,
          path: /^\/secrets\/B-Second/,
          body: {
            error: {
              code: `Echo${status}`,
              message: `value ${first} / header ${identityHeader} rejected`,
              innererror: { code: first },
            },
          },
        };
        await expectFailure(() => loadSettings(options()));
      }
    });
    assertNoLeak(output, 5);
    for (const error of errors) assert.match(String(error), /Key Vault https:\/\/127\.0\.0\.1:\d+/);
  });

  it('a connection dropped, a list refused and a timeout after values were read', async () => {
    const output = await captureOutput(async () => {
      vault.failure = { status: 0, body: undefined, path: /^\/secrets\/B-Second/, reset: true };
      await expectFailure(() => loadSettings(options()));
      vault.failure = {
        status: 403,
        body: { error: { code: 'Forbidden', message: `no ${identityHeader}` } },
        path: /^\/secrets$/,
      };
      await expectFailure(() => loadSettings(options()));
    });
    assertNoLeak(output, 2);
    assert.match(
      String(errors[0]),
      /reading the secrets failed: the connection to 127\.0\.0\.1:\d+ was reset \(ECONNRESET\)/,
    );
  });

  it('a successful load reports names only', async () => {
    const loaded = await loadSettings(options());
    assert.equal(loaded.settings['A-First'], first);
    assertNoneLeaked([JSON.stringify(loaded.sources)], [first, second], 'the load summary');
  });
});
