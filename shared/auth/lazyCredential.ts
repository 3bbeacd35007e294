import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type * as AzureIdentity from '@azure/identity';

/**
 * A credential that imports @azure/identity (about 200 ms of CPU) when the first token is asked for, not when the
 * worker starts: a worker on a connection string, Basic or OAuth2 never asks, and one that does pays once.
 * `create` builds the real credential from the imported package; an import that failed is tried again next time.
 */
export function lazyCredential(create: (identity: typeof AzureIdentity) => TokenCredential): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      credential ??= import('@azure/identity').then(create);
      credential.catch(() => (credential = undefined));
      return (await credential).getToken(scopes, options);
    },
  };
}
