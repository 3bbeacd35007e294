import type { TokenCredential } from '@azure/identity';
import type { SecretClientOptions, SecretProperties } from '@azure/keyvault-secrets';
import { lazyCredential } from '../auth/lazyCredential.js';
import { ConfigurationError } from '../errors/errors.js';
import { isLoopbackHost } from '../http/loopback.js';
import { forEachLimited } from '../lib/concurrency.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { captureServiceErrors, innerCodeOf, keyVaultFailure } from './keyVaultFailure.js';
import { assertResolved } from './keyVaultReference.js';
import { readSetting, type FlatSettings } from './settingsSource.js';

/**
 * Settings loaded from an Azure Key Vault, as DICOM Cast did with `KeyVault:Endpoint`: every enabled secret
 * becomes a setting named after the secret, `--` standing for the hierarchy separator
 * (`Fhir--Authentication--OAuth2ClientCredential--ClientSecret` is `Fhir:Authentication:OAuth2ClientCredential:ClientSecret`).
 */
export const keyVaultSettings = {
  endpoint: 'KeyVault:Endpoint',
  clientId: 'KeyVault:ClientId',
} as const;

export interface KeyVaultOptions {
  /** Replaces the credential chosen from the settings (tests, or a host with its own credential). */
  credential?: TokenCredential;
  /** Merged over the client options used (retries, `tlsOptions`, `additionalPolicies`, ...). */
  clientOptions?: SecretClientOptions;
  /** Budget for listing and reading every secret (default 60 s). */
  timeoutMs?: number;
  /** Secrets read at once (default 8). */
  concurrency?: number;
  now?: () => number;
}

export interface KeyVaultLoadSummary {
  /** The vault URL used (origin only). */
  endpoint: string;
  /** Which identity read the vault, for messages (no secret). */
  credential: string;
  /** Names of the secrets loaded (names only). */
  loaded: string[];
  /** Names of the secrets skipped: disabled, expired or not yet valid. */
  skipped: string[];
}

export interface KeyVaultSecrets {
  summary: KeyVaultLoadSummary;
  /** Secret name -> value. */
  settings: FlatSettings;
}

/** Whether this process runs on the Functions / App Service platform (not `func start` on a workstation). */
export function isRunningInAzure(env: FlatSettings): boolean {
  return !!(env.WEBSITE_INSTANCE_ID || env.CONTAINER_NAME);
}

/**
 * The identity the vault is read with, chosen as the auth module chooses it:
 * - on the platform, or wherever a managed identity endpoint is offered (IDENTITY_ENDPOINT / MSI_ENDPOINT):
 *   ManagedIdentityCredential, user-assigned when `KeyVault:ClientId` (or AZURE_CLIENT_ID) is set, else system-assigned;
 * - elsewhere (a workstation): DefaultAzureCredential (environment variables, workload identity, Azure CLI,
 *   Azure Developer CLI, Azure PowerShell...), with the same client id for a managed identity when set.
 */
export function chooseKeyVaultCredential(settings: FlatSettings): { credential: TokenCredential; description: string } {
  const configured = readSetting(settings, keyVaultSettings.clientId.split(':'))?.trim();
  const fallback = readSetting(settings, ['AZURE_CLIENT_ID'])?.trim();
  const clientId = configured || fallback || undefined;
  const clientIdSource = configured ? keyVaultSettings.clientId : 'AZURE_CLIENT_ID';
  const managedIdentityOffered =
    isRunningInAzure(settings) ||
    !!readSetting(settings, ['IDENTITY_ENDPOINT']) ||
    !!readSetting(settings, ['MSI_ENDPOINT']);
  if (managedIdentityOffered) {
    return clientId
      ? {
          credential: lazyCredential((identity) => new identity.ManagedIdentityCredential({ clientId })),
          description: `user-assigned managed identity ${clientId} (${clientIdSource})`,
        }
      : {
          credential: lazyCredential((identity) => new identity.ManagedIdentityCredential()),
          description: 'system-assigned managed identity',
        };
  }
  return {
    credential: lazyCredential(
      (identity) => new identity.DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}),
    ),
    description: 'DefaultAzureCredential (environment, Azure CLI, Azure Developer CLI, Azure PowerShell)',
  };
}

/** The vault URL from `KeyVault:Endpoint`: https, no user info; reduced to its origin. */
export function parseVaultEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigurationError(
      `Invalid setting ${keyVaultSettings.endpoint}: must be the vault URL, e.g. https://<vault>.vault.azure.net`,
      keyVaultSettings.endpoint,
    );
  }
  if (url.protocol !== 'https:' || url.username || url.password) {
    throw new ConfigurationError(
      `Invalid setting ${keyVaultSettings.endpoint}: must be an https URL without user info, e.g. https://<vault>.vault.azure.net`,
      keyVaultSettings.endpoint,
    );
  }
  return url.origin;
}

/**
 * Lists the vault's secrets and reads every enabled one that is currently valid.
 * Fails with a ConfigurationError (access refused, wrong tenant, not a vault, no identity) or a RetryableError
 * (network, throttling, 5xx, timeout), naming the vault and the cause, never a secret value.
 */
export async function loadKeyVaultSecrets(
  endpoint: string,
  settings: FlatSettings,
  options: KeyVaultOptions = {},
): Promise<KeyVaultSecrets> {
  assertResolved(keyVaultSettings.clientId, readSetting(settings, keyVaultSettings.clientId.split(':')));
  const vault = parseVaultEndpoint(endpoint);
  const chosen = options.credential
    ? { credential: options.credential, description: 'the credential given' }
    : chooseKeyVaultCredential(settings);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const serviceErrors = captureServiceErrors();
  // Imported here, not at start: only a worker with KeyVault:Endpoint set needs it (about 125 ms of CPU).
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const client = new SecretClient(vault, chosen.credential, {
    // A vault on loopback (an emulator, the tests) cannot match the challenge's *.vault.azure.net resource.
    disableChallengeResourceVerification: isLoopbackHost(new URL(vault).hostname),
    ...options.clientOptions,
    additionalPolicies: [...(options.clientOptions?.additionalPolicies ?? []), serviceErrors.policy],
  });

  // Anything that might echo back into an error: values read so far and the identity endpoint's secrets.
  const values: string[] = [];
  for (const name of ['IDENTITY_HEADER', 'MSI_SECRET', 'AZURE_CLIENT_SECRET', 'AZURE_PASSWORD']) {
    const value = readSetting(settings, [name]);
    if (value && value.length >= 4) values.push(value);
  }
  const redact = (text: string) => values.reduce((result, value) => result.split(value).join('***'), text);

  // One failure (or the time budget) stops the reads still running.
  const stop = new AbortController();
  const abortSignal = AbortSignal.any([AbortSignal.timeout(timeoutMs), stop.signal]);
  const loaded: Record<string, string> = {};
  const skipped: string[] = [];
  let step = 'listing the secrets';
  try {
    const names: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets({ abortSignal })) {
      if (isActive(properties, now())) names.push(properties.name);
      else skipped.push(properties.name);
    }
    step = 'reading the secrets';
    await forEachLimited(names, options.concurrency ?? 8, async (name) => {
      try {
        const secret = await client.getSecret(name, { abortSignal });
        if (secret.value === undefined) return;
        // Very short values (flags, numbers) would blank out ordinary words; they are not credentials either.
        if (secret.value.length >= 4) values.push(secret.value);
        loaded[name] = secret.value;
      } catch (error) {
        // Deleted or disabled between the list and the read: as if it had not been listed.
        if (httpStatusOf(error) === 404 || innerCodeOf(error) === 'SecretDisabled') {
          skipped.push(name);
          return;
        }
        stop.abort(); // the first failure stops the reads still in flight
        throw error;
      }
    });
  } catch (error) {
    stop.abort();
    throw keyVaultFailure(error, {
      vault,
      settingNames: keyVaultSettings,
      step,
      credential: chosen.description,
      timeoutMs,
      redact,
      serviceError: serviceErrors.lastWithStatus(httpStatusOf(error)),
    });
  }
  const loadedNames = Object.keys(loaded).sort();
  return {
    summary: { endpoint: vault, credential: chosen.description, loaded: loadedNames, skipped: skipped.sort() },
    settings: loaded,
  };
}

function isActive(properties: SecretProperties, now: number): boolean {
  if (properties.enabled === false) return false;
  if (properties.expiresOn && properties.expiresOn.getTime() <= now) return false;
  if (properties.notBefore && properties.notBefore.getTime() > now) return false;
  return true;
}
