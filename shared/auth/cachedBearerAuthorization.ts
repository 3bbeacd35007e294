import { refreshTimeOf, type AccessToken, type TokenSource } from './accessToken.js';
import { rememberSecret } from '../telemetry/redaction.js';
import type { AuthorizationProvider } from './authorizationProvider.js';

interface CachedToken {
  header: string;
  expiresAt: number;
  refreshAt: number;
}

/**
 * Bearer tokens for one server: cached, refreshed before expiry, one refresh at a time however many callers wait,
 * and given only to URLs on the server's own origin.
 */
export function createCachedBearerAuthorization(options: {
  serverEndpoint: string;
  fetchToken: TokenSource;
  now?: () => number;
}): AuthorizationProvider {
  const now = options.now ?? Date.now;
  const serverOrigin = new URL(options.serverEndpoint).origin;
  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;

  const refresh = (): Promise<CachedToken> => {
    if (inFlight) return inFlight;
    const obtainedAt = now();
    const attempt: Promise<CachedToken> = options
      .fetchToken()
      .then((token: AccessToken) => {
        // The current and recent tokens are redacted from every text a server sends back (an echoed header).
        rememberSecret(token.token);
        const entry = {
          header: `Bearer ${token.token}`,
          expiresAt: token.expiresAt,
          refreshAt: refreshTimeOf(token, obtainedAt),
        };
        // A hard invalidate() while this was running abandoned it: keep its answer from the cache.
        if (inFlight === attempt) cached = entry;
        return entry;
      })
      .finally(() => {
        if (inFlight === attempt) inFlight = undefined;
      });
    inFlight = attempt;
    return attempt;
  };

  return {
    async authorizationFor(url: string) {
      if (!isOnOrigin(url, serverOrigin)) return undefined;
      if (cached && now() < cached.refreshAt) return cached.header;
      try {
        return (await refresh()).header;
      } catch (error) {
        // An early refresh failed, but the cached token is still valid and was not rejected by a 401: use it.
        const fallback = cached;
        if (fallback && now() < fallback.expiresAt) return fallback.header;
        throw error;
      }
    },

    /**
     * Forgets the token after a 401. Given the rejected header, a 401 for a token already replaced is ignored,
     * so many requests failing together cause one refresh, not one each.
     */
    invalidate(rejectedAuthorization?: string) {
      if (rejectedAuthorization !== undefined) {
        if (cached?.header === rejectedAuthorization) cached = undefined;
        return;
      }
      cached = undefined;
      inFlight = undefined;
    },
  };
}

function isOnOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
