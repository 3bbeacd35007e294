import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessToken } from '../../../shared/auth/accessToken.js';
import { createCachedBearerAuthorization } from '../../../shared/auth/cachedBearerAuthorization.js';
import { redactSecrets } from '../../../shared/telemetry/redaction.js';

// The cache's own rules, with a token source the test answers by hand (the real token endpoints are exercised in
// oauth2TokenSource.test.ts and managedIdentityTokenSource.test.ts): what is fetched when, and what is kept.

const server = 'https://fhir.example.org';
const t0 = Date.parse('2030-01-01T00:00:00Z');

interface PendingFetch {
  resolve: (token: AccessToken) => void;
  reject: (error: Error) => void;
}

function handFedTokenSource() {
  const pending: PendingFetch[] = [];
  const fetchToken = () =>
    new Promise<AccessToken>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  return { pending, fetchToken };
}

/** Lets the promise callbacks queued so far run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createCachedBearerAuthorization', () => {
  it('refreshes at the refresh time, not a millisecond later', async () => {
    const clock = { now: t0 };
    const source = handFedTokenSource();
    const provider = createCachedBearerAuthorization({
      serverEndpoint: server,
      fetchToken: source.fetchToken,
      now: () => clock.now,
    });
    const first = provider.authorizationFor(`${server}/Patient`);
    await settle();
    source.pending[0]?.resolve({ token: 'one', expiresAt: t0 + 3600_000 });
    assert.equal(await first, 'Bearer one');

    clock.now = t0 + 3300_000 - 1; // just before the refresh time (5 minutes before expiry): cached
    assert.equal(await provider.authorizationFor(`${server}/Patient`), 'Bearer one');
    assert.equal(source.pending.length, 1);

    clock.now = t0 + 3300_000; // at the refresh time: a new token is fetched
    const second = provider.authorizationFor(`${server}/Patient`);
    await settle();
    assert.equal(source.pending.length, 2);
    source.pending[1]?.resolve({ token: 'two', expiresAt: t0 + 7200_000 });
    assert.equal(await second, 'Bearer two');
  });

  it('falls back to the cached token while an early refresh fails, up to (not at) its expiry', async () => {
    const clock = { now: t0 };
    const source = handFedTokenSource();
    const provider = createCachedBearerAuthorization({
      serverEndpoint: server,
      fetchToken: source.fetchToken,
      now: () => clock.now,
    });
    const first = provider.authorizationFor(server);
    await settle();
    source.pending[0]?.resolve({ token: 'one', expiresAt: t0 + 3600_000 });
    await first;

    clock.now = t0 + 3600_000 - 1;
    const early = provider.authorizationFor(server);
    await settle();
    source.pending[1]?.reject(new Error('token endpoint down'));
    assert.equal(await early, 'Bearer one');

    clock.now = t0 + 3600_000; // expired now: the failure is the answer
    const late = provider.authorizationFor(server);
    await settle();
    source.pending[2]?.reject(new Error('token endpoint down'));
    await assert.rejects(late, /token endpoint down/);
  });

  it('a hard invalidate abandons the fetch in flight: its late answer is not cached, nor does it end the next fetch', async () => {
    const source = handFedTokenSource();
    const provider = createCachedBearerAuthorization({ serverEndpoint: server, fetchToken: source.fetchToken });
    const abandoned = provider.authorizationFor(server);
    await settle();
    provider.invalidate();

    const fresh = provider.authorizationFor(server);
    await settle();
    assert.equal(source.pending.length, 2, 'a new fetch, not the abandoned one');
    // The abandoned fetch answers late, after the new one started.
    source.pending[0]?.resolve({ token: 'abandoned', expiresAt: Date.now() + 3600_000 });
    assert.equal(await abandoned, 'Bearer abandoned', 'its own caller still gets it');
    // The new fetch is still the one in flight: a third caller waits for it instead of fetching again.
    const joined = provider.authorizationFor(server);
    await settle();
    assert.equal(source.pending.length, 2);
    source.pending[1]?.resolve({ token: 'fresh', expiresAt: Date.now() + 3600_000 });
    assert.equal(await fresh, 'Bearer fresh');
    assert.equal(await joined, 'Bearer fresh');
    assert.equal(await provider.authorizationFor(server), 'Bearer fresh', 'the cache holds the new token');
  });

  it('the abandoned answer never replaces a newer token in the cache', async () => {
    const source = handFedTokenSource();
    const provider = createCachedBearerAuthorization({ serverEndpoint: server, fetchToken: source.fetchToken });
    const abandoned = provider.authorizationFor(server);
    await settle();
    provider.invalidate();
    const fresh = provider.authorizationFor(server);
    await settle();
    source.pending[1]?.resolve({ token: 'fresh', expiresAt: Date.now() + 3600_000 });
    await fresh;
    source.pending[0]?.resolve({ token: 'abandoned', expiresAt: Date.now() + 3600_000 });
    await abandoned;
    assert.equal(await provider.authorizationFor(server), 'Bearer fresh');
    assert.equal(source.pending.length, 2);
  });

  it('remembers each token as a secret, so a server echoing it back is redacted', async () => {
    const source = handFedTokenSource();
    const provider = createCachedBearerAuthorization({ serverEndpoint: server, fetchToken: source.fetchToken });
    const token = `tok-${Math.random().toString(36).slice(2)}-${Date.now()}-cached-bearer`;
    const header = provider.authorizationFor(server);
    await settle();
    source.pending[0]?.resolve({ token, expiresAt: Date.now() + 3600_000 });
    await header;
    // An opaque token echoed where no credential pattern applies (a diagnostics string) is found only if remembered.
    assert.ok(!redactSecrets(`diagnostics: token ${token} is not valid here`).includes(token));
  });
});
