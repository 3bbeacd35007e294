import type { TokenCredential } from '@azure/identity';
import type { AxiosInstance } from 'axios';
import type { TokenSource } from './accessToken.js';
import type { AuthConfig } from './authConfig.js';
import { noAuthorization, type AuthorizationProvider } from './authorizationProvider.js';
import { createBasicAuthorization } from './basicAuthorization.js';
import { createCachedBearerAuthorization } from './cachedBearerAuthorization.js';
import { managedIdentityTokenSource } from './managedIdentityTokenSource.js';
import { oauth2TokenSource } from './oauth2TokenSource.js';

export interface AuthorizationDeps {
  /** Replaces the token source the config names (tests, or a custom source). */
  fetchToken?: TokenSource;
  /** HTTP client for OAuth2 token requests (default: no redirects, 30 s timeout). */
  http?: AxiosInstance;
  /** Replaces ManagedIdentityCredential for the ManagedIdentity type. */
  credential?: TokenCredential;
  now?: () => number;
}

/** The AuthorizationProvider for one server, from its validated auth settings. */
export function createAuthorizationProvider(
  config: AuthConfig,
  serverEndpoint: string,
  deps: AuthorizationDeps = {},
): AuthorizationProvider {
  if (config.kind === 'none') return noAuthorization;
  if (config.kind === 'basic') return createBasicAuthorization(config, serverEndpoint);
  const now = deps.now ?? Date.now;
  const fetchToken =
    deps.fetchToken ??
    (config.kind === 'managedIdentity'
      ? managedIdentityTokenSource(config, deps.credential)
      : oauth2TokenSource(config, { ...(deps.http ? { http: deps.http } : {}), now }));
  return createCachedBearerAuthorization({ serverEndpoint, fetchToken, now });
}
