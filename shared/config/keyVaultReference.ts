import { ConfigurationError } from '../errors/errors.js';

/**
 * App Service / Functions resolve `@Microsoft.KeyVault(...)` app settings before the app starts. When they cannot
 * (no access, wrong identity, bad syntax, vault firewall) the literal reference text reaches the app instead of the
 * secret. These helpers recognize that and say what to check; they never repeat the reference itself.
 */
const keyVaultReference = /^\s*@Microsoft\.KeyVault\s*\(/i;

export function isKeyVaultReference(value: string | undefined): boolean {
  return value !== undefined && keyVaultReference.test(value);
}

export function unresolvedReferenceMessage(path: string): string {
  return (
    `Setting ${path} is still a literal Key Vault reference: the platform could not resolve it. ` +
    "Check the app identity's access to the vault (the Key Vault Secrets User role, or an access policy allowing get; " +
    'and the vault firewall), keyVaultReferenceIdentity (the identity the platform resolves references with: ' +
    'the system-assigned identity unless the site property names a user-assigned one), and the reference syntax ' +
    '(@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>) or ' +
    '@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>)). The portal shows why under Environment variables.'
  );
}

export function unresolvedReferenceError(path: string): ConfigurationError {
  return new ConfigurationError(unresolvedReferenceMessage(path), path);
}

/** Throws a ConfigurationError naming `path` when `value` is an unresolved reference. */
export function assertResolved(path: string, value: string | undefined): void {
  if (isKeyVaultReference(value)) throw unresolvedReferenceError(path);
}
