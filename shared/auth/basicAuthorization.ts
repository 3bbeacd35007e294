import type { BasicAuthConfig } from './authConfig.js';
import type { AuthorizationProvider } from './authorizationProvider.js';

/**
 * HTTP Basic for one server: `Basic base64(username:password)`, given only to URLs on the server's own origin (like
 * the bearer tokens), so the password never goes to another host. Nothing to refresh: a 401 means the credentials
 * are wrong, and the retry the HTTP client makes after `invalidate` gets the same answer.
 */
export function createBasicAuthorization(config: BasicAuthConfig, serverEndpoint: string): AuthorizationProvider {
  const origin = new URL(serverEndpoint).origin;
  const header = `Basic ${Buffer.from(`${config.username}:${config.password}`, 'utf8').toString('base64')}`;
  return {
    authorizationFor: (url) => {
      let onOrigin = false;
      try {
        onOrigin = new URL(url).origin === origin;
      } catch {
        onOrigin = false;
      }
      return Promise.resolve(onOrigin ? header : undefined);
    },
    invalidate: () => undefined,
  };
}
