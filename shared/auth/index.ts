export type { AuthorizationProvider } from './authorizationProvider.js';
export { noAuthorization } from './authorizationProvider.js';
export type { AccessToken, TokenSource } from './accessToken.js';
export {
  authSettingDefinitions,
  authSettingPaths,
  loadAuthConfig,
  type AuthConfig,
  type AuthServer,
  type BasicAuthConfig,
  type ManagedIdentityAuthConfig,
  type OAuth2AuthConfig,
} from './authConfig.js';
export { createAuthorizationProvider, type AuthorizationDeps } from './createAuthorizationProvider.js';
