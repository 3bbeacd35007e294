import type { TokenCredential } from '@azure/identity';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { redactSecrets } from '../telemetry/redaction.js';
import type { TokenSource } from './accessToken.js';
import type { ManagedIdentityAuthConfig } from './authConfig.js';
import { lazyCredential } from './lazyCredential.js';

/**
 * Tokens for the app's managed identity (system-assigned, or user-assigned when a client id is set),
 * through @azure/identity, which finds the identity endpoint the platform offers (App Service / Functions: IDENTITY_ENDPOINT).
 * `credential` replaces ManagedIdentityCredential in tests that need no identity endpoint. @azure/identity is
 * imported at the first token (lazyCredential), not when the worker starts.
 */
export function managedIdentityTokenSource(
  config: ManagedIdentityAuthConfig,
  credential?: TokenCredential,
): TokenSource {
  const identity =
    credential ??
    lazyCredential(
      (azure) => new azure.ManagedIdentityCredential(config.clientId ? { clientId: config.clientId } : {}),
    );
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
      const message = `The ${identityName} could not get a token for ${config.resource} (the ${config.server} server): ${reasonOf(error)}`;
      const setting = { setting: `${config.server}:Authentication:ManagedIdentityCredential:Resource` };
      // The identity endpoint refused (400 invalid_resource, unknown client id, ...): a setting to fix, not a retry.
      if (isRefusal(error)) throw new NonRetryableError(message, 'configuration', setting);
      throw new RetryableError(message, 'transient', setting);
    }
  };
}

/** The credential's own message, without anything that looks like the identity endpoint's secret header. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : 'unknown error';
  const identityHeader = process.env.IDENTITY_HEADER;
  const cleaned = identityHeader ? message.split(identityHeader).join('***') : message;
  return redactSecrets(cleaned).slice(0, 500);
}

/** A 4xx answer from the identity or token endpoint other than 408/429 (what @azure/identity reports as statusCode). */
function isRefusal(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}
