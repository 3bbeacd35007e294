import { isPlainObject } from '../lib/isPlainObject.js';

/** A bearer token and when it stops being valid. */
export interface AccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Fetches a fresh token from wherever this server's tokens come from. */
export type TokenSource = () => Promise<AccessToken>;

/** DICOM Cast refreshed a token when it was within 5 minutes of expiry. */
export const refreshMarginMs = 5 * 60_000;

/**
 * Assumed lifetime of a token whose response gave no `expires_in` and which is not a JWT.
 * Short on purpose: a wrong guess costs one token request, and a 401 refreshes earlier anyway.
 */
export const assumedLifetimeMs = 10 * 60_000;

/**
 * When to fetch the next token: 5 minutes before expiry, or half way through the lifetime for tokens
 * that live less than 10 minutes (so a 60 s token is not refreshed on every call).
 */
export function refreshTimeOf(token: AccessToken, obtainedAt: number): number {
  const lifetime = Math.max(0, token.expiresAt - obtainedAt);
  return token.expiresAt - Math.min(refreshMarginMs, lifetime / 2);
}

/**
 * Expiry of a token from an OAuth2 token response: `expires_in` when given; otherwise the `exp` claim,
 * read only when the token is a JWT (an opaque token is never parsed); otherwise an assumed short lifetime.
 */
export function expiryOfTokenResponse(token: string, expiresIn: unknown, now: number): number {
  const seconds = typeof expiresIn === 'string' && /^\d+$/.test(expiresIn.trim()) ? Number(expiresIn) : expiresIn;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) return now + seconds * 1000;
  const exp = jwtExpiry(token);
  if (exp !== undefined) return exp;
  return now + assumedLifetimeMs;
}

const jwtShape = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The `exp` claim (as epoch ms) of a JWS compact token, or undefined for anything else. The signature is not checked: this only schedules a refresh. */
export function jwtExpiry(token: string): number | undefined {
  if (!jwtShape.test(token)) return undefined;
  const [header, payload] = token.split('.');
  const headerJson = decodeSegment(header);
  if (!isPlainObject(headerJson) || typeof headerJson.alg !== 'string') return undefined;
  const payloadJson = decodeSegment(payload);
  if (!isPlainObject(payloadJson)) return undefined;
  const exp = payloadJson.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
}

function decodeSegment(segment: string | undefined): unknown {
  if (!segment) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
