import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assumedLifetimeMs,
  expiryOfTokenResponse,
  jwtExpiry,
  refreshTimeOf,
} from '../../../shared/auth/accessToken.js';

const t0 = Date.parse('2030-01-01T00:00:00Z');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (payload: unknown) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.c2lnbmF0dXJl`;

describe('token expiry', () => {
  it('refreshes 5 minutes early, or half way for tokens shorter than 10 minutes', () => {
    assert.equal(refreshTimeOf({ token: 'x', expiresAt: t0 + 3600_000 }, t0), t0 + 3300_000);
    assert.equal(refreshTimeOf({ token: 'x', expiresAt: t0 + 60_000 }, t0), t0 + 30_000);
    assert.equal(refreshTimeOf({ token: 'x', expiresAt: t0 + 600_000 }, t0), t0 + 300_000);
  });

  it('takes expires_in (number or numeric string) over everything', () => {
    const token = jwt({ exp: t0 / 1000 + 50 });
    assert.equal(expiryOfTokenResponse(token, 120, t0), t0 + 120_000);
    assert.equal(expiryOfTokenResponse('opaque', '3599', t0), t0 + 3599_000);
  });

  it('falls back to the exp of a JWT', () => {
    assert.equal(expiryOfTokenResponse(jwt({ exp: t0 / 1000 + 50 }), undefined, t0), t0 + 50_000);
    assert.equal(jwtExpiry(jwt({ exp: 1_900_000_000 })), 1_900_000_000_000);
  });

  it('never parses an opaque token, even one with dots', () => {
    for (const opaque of [
      'abc.def.ghi',
      `${b64({ exp: 1_900_000_000 })}.${b64({ exp: 1_900_000_000 })}.sig`, // no JOSE header
      `${b64({ typ: 'JWT' })}.${b64({ exp: 1_900_000_000 })}.sig`, // header without alg
      `${jwt({ exp: 1_900_000_000 })}.x.y`, // five segments: a JWE, not readable
      'eyJhbGciOiJIUzI1NiJ9.not-json.sig',
      'mF_9.B5f-4.1JqM',
    ]) {
      assert.equal(jwtExpiry(opaque), undefined, opaque);
      assert.equal(expiryOfTokenResponse(opaque, undefined, t0), t0 + assumedLifetimeMs, opaque);
    }
    assert.equal(jwtExpiry(jwt({ exp: 'tomorrow' })), undefined);
  });
});
