import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { RetryableError } from '../errors/errors.js';
import type { TokenSource } from './accessToken.js';
import type { ManagedIdentityAuthConfig } from './authConfig.js';

/**
 * Tokens for the app's managed identity (system-assigned, or user-assigned when a client id is set),
 * through @azure/identity, which finds the identity endpoint the platform offers (App Service / Functions: IDENTITY_ENDPOINT).
 * `credential` replaces ManagedIdentityCredential in tests that need no identity endpoint.
 */
export function managedIdentityTokenSource(
  config: ManagedIdentityAuthConfig,
  credential?: TokenCredential,
): TokenSource {
  const identity = credential ?? new ManagedIdentityCredential(config.clientId ? { clientId: config.clientId } : {});
  const scope = `${config.resource}/.default`;
  const clientIdPath = `${config.server}:Authentication:ManagedIdentityCredential:ClientId`;

  return async () => {
    try {
      const token = await identity.getToken(scope);
      if (!token) throw new Error('no token returned');
      return { token: token.token, expiresAt: token.expiresOnTimestamp };
    } catch (error) {
      const identityName = config.clientId
        ? `user-assigned managed identity (${clientIdPath})`
        : 'system-assigned managed identity';
      throw new RetryableError(
        `The ${identityName} could not get a token for ${config.resource} (the ${config.server} server): ${reasonOf(error)}`,
        'transient',
        { setting: `${config.server}:Authentication:ManagedIdentityCredential:Resource` },
      );
    }
  };
}

/** The credential's own message, without anything that looks like the identity endpoint's secret header. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : 'unknown error';
  const identityHeader = process.env.IDENTITY_HEADER;
  const cleaned = identityHeader ? message.split(identityHeader).join('***') : message;
  return cleaned.slice(0, 500);
}
