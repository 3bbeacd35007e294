import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assumedLifetimeMs, expiryOfTokenResponse, jwtExpiry } from '../../../shared/auth/accessToken.js';

// What a token response may carry as its lifetime, and what is not a lifetime (the cases a mutation run found unchecked).

const t0 = Date.parse('2030-01-01T00:00:00Z');
const assumed = t0 + assumedLifetimeMs;
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const header = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
/** A JWS whose payload is this exact JSON text (so it can hold what JSON.stringify would not write, such as 1e400). */
const jwtWithPayload = (payloadJson: string) => `${header}.${b64(payloadJson)}.c2ln`;

describe('expires_in', () => {
  it('a numeric string with surrounding spaces is a number of seconds; zero means already expired', () => {
    assert.equal(expiryOfTokenResponse('opaque', ' 3599 ', t0), t0 + 3599_000);
    assert.equal(expiryOfTokenResponse('opaque', 0, t0), t0);
    assert.equal(expiryOfTokenResponse('opaque', '0', t0), t0);
  });

  it('anything that is not a whole number of seconds is ignored: the JWT exp, else the assumed lifetime', () => {
    const jwt = jwtWithPayload(JSON.stringify({ exp: t0 / 1000 + 50 }));
    for (const expiresIn of [null, true, -5, Infinity, NaN, '1e3', '0x10', '1.5', '-5', '12abc', '', {}]) {
      assert.equal(expiryOfTokenResponse('opaque', expiresIn, t0), assumed, JSON.stringify(expiresIn));
      assert.equal(expiryOfTokenResponse(jwt, expiresIn, t0), t0 + 50_000, JSON.stringify(expiresIn));
    }
  });
});

describe('the exp claim', () => {
  it('only a positive finite number is an expiry', () => {
    for (const payload of ['{"exp":0}', '{"exp":-5}', '{"exp":"1900000000"}', '{"exp":1e400}', '{"exp":null}']) {
      assert.equal(jwtExpiry(jwtWithPayload(payload)), undefined, payload);
    }
    assert.equal(jwtExpiry(jwtWithPayload('{"exp":1900000000}')), 1_900_000_000_000);
  });
});
