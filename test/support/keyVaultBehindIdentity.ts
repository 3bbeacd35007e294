import {
  startManagedIdentityTestServer,
  type ManagedIdentityTestServer,
  useLoopbackManagedIdentity,
} from './managedIdentityTestServer.js';
import { startKeyVaultTestServer, type KeyVaultTestServer } from './keyVaultTestServer.js';
import { createSelfSignedCertificate, type SelfSignedCertificate } from './selfSignedCertificate.js';

export interface VaultBehindIdentity {
  certificate: SelfSignedCertificate;
  identity: ManagedIdentityTestServer;
  vault: KeyVaultTestServer;
  /** Restores the managed identity variables, stops both servers and removes the certificate. */
  close(): Promise<void>;
}

/**
 * An HTTPS Key Vault on loopback (self-signed certificate) that takes the tokens a loopback App Service identity
 * endpoint issued and `accepts` lets through; the process's managed identity variables point at that endpoint
 * until `close`.
 */
export async function startVaultBehindIdentity(
  identityHeader: string,
  accepts: (token: string, identity: ManagedIdentityTestServer) => boolean,
): Promise<VaultBehindIdentity> {
  const certificate = await createSelfSignedCertificate();
  const identity = await startManagedIdentityTestServer(identityHeader);
  const restoreEnvironment = useLoopbackManagedIdentity(identity.endpoint, identityHeader);
  const vault = await startKeyVaultTestServer({
    cert: certificate.cert,
    key: certificate.key,
    isValidToken: (token) => accepts(token, identity),
  });
  return {
    certificate,
    identity,
    vault,
    async close() {
      restoreEnvironment();
      await Promise.all([vault.close(), identity.close()]);
      await certificate.dispose();
    },
  };
}
