import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions, type SecretProperties } from '@azure/keyvault-secrets';
import { ConfigurationError, RetryableError } from '../errors/errors.js';
import { isLoopbackHost } from '../http/loopback.js';
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
          credential: new ManagedIdentityCredential({ clientId }),
          description: `user-assigned managed identity ${clientId} (${clientIdSource})`,
        }
      : { credential: new ManagedIdentityCredential(), description: 'system-assigned managed identity' };
  }
  return {
    credential: new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}),
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
        if (statusOf(error) === 404 || innerCodeOf(error) === 'SecretDisabled') skipped.push(name);
        else throw error;
      }
    });
  } catch (error) {
    stop.abort();
    throw keyVaultFailure(error, {
      vault,
      step,
      credential: chosen.description,
      timeoutMs,
      redact,
      serviceError: serviceErrors.lastWithStatus(statusOf(error)),
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

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

type AdditionalPolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number];

/** Key Vault's error body (`error.code`, `error.innererror.code`, `error.message`) of a failed response. */
interface ServiceError {
  status: number;
  code?: string;
  innerCode?: string;
  message?: string;
}

/**
 * Keeps the error bodies the vault answered: the paging helper's RestError keeps only a generic message, and the
 * inner code (ForbiddenByRbac, ForbiddenByFirewall) is what tells the causes apart.
 */
function captureServiceErrors(): {
  policy: AdditionalPolicy;
  lastWithStatus: (status: number | undefined) => ServiceError | undefined;
} {
  const seen: ServiceError[] = [];
  return {
    policy: {
      position: 'perRetry',
      policy: {
        name: 'dicomCastKeyVaultErrors',
        async sendRequest(request, next) {
          const response = await next(request);
          if (response.status >= 400 && response.status !== 401) {
            seen.push({ status: response.status, ...parseErrorBody(response.bodyAsText) });
            if (seen.length > 20) seen.shift();
          }
          return response;
        },
      },
    },
    lastWithStatus: (status) => [...seen].reverse().find((entry) => entry.status === status),
  };
}

function parseErrorBody(text: string | null | undefined): Omit<ServiceError, 'status'> {
  if (!text) return {};
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; innererror?: { code?: unknown } } };
    const error = body.error;
    return {
      ...(typeof error?.code === 'string' ? { code: error.code } : {}),
      ...(typeof error?.innererror?.code === 'string' ? { innerCode: error.innererror.code } : {}),
      ...(typeof error?.message === 'string' ? { message: error.message } : {}),
    };
  } catch {
    return {};
  }
}

interface FailureContext {
  vault: string;
  step: string;
  credential: string;
  timeoutMs: number;
  redact: (text: string) => string;
  serviceError: ServiceError | undefined;
}

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  details?: { error?: { code?: unknown; message?: unknown; innerError?: { code?: unknown } } };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as ErrorShape | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function innerCodeOf(error: unknown): string | undefined {
  const code = (error as ErrorShape | undefined)?.details?.error?.innerError?.code;
  return typeof code === 'string' ? code : undefined;
}

const tlsCodes =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|EPROTO|HOSTNAME_MISMATCH)/;

/** What a network error code means, in a few words. */
export function describeNetworkCode(code: string, host: string): string {
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS: ${host} does not resolve (${code})`;
  if (code === 'ECONNREFUSED') return `connection refused by ${host} (${code}): nothing listens there`;
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED' || code === 'ESOCKETTIMEDOUT') return `timed out (${code})`;
  if (code === 'ECONNRESET') return `the connection to ${host} was reset (${code})`;
  if (tlsCodes.test(code)) {
    return `TLS: the certificate of ${host} is not accepted (${code}); a TLS-inspecting proxy needs its CA in NODE_EXTRA_CA_CERTS`;
  }
  return code;
}

function firstLine(text: string): string {
  return (text.split(/\r?\n/)[0] ?? '').trim().slice(0, 300);
}

function keyVaultFailure(error: unknown, context: FailureContext): Error {
  const { vault, step, credential, redact } = context;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const message = typeof shape.message === 'string' ? redact(firstLine(shape.message)) : '';
  const where = `Key Vault ${vault} (${keyVaultSettings.endpoint}): ${step} failed`;
  const setting = keyVaultSettings.endpoint;
  const host = new URL(vault).host;

  if (name === 'AbortError') {
    return new RetryableError(`${where}: timed out after ${context.timeoutMs / 1000} s`, 'transient', { setting });
  }
  if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError') {
    return new ConfigurationError(
      `${where}: the ${credential} could not get a token for the vault: ${message || name}. ` +
        `On Azure, check that the app's managed identity is on (a user-assigned one needs ${keyVaultSettings.clientId}); ` +
        'locally, sign in with az login',
      setting,
    );
  }
  if (name === 'AuthenticationError') {
    const status = statusOf(error);
    const text = `${where}: the ${credential} could not get a token for the vault: ${message || name}`;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return new ConfigurationError(text, setting);
    }
    return new RetryableError(text, 'transient', { setting });
  }
  if (message.startsWith('The challenge resource')) {
    return new ConfigurationError(`${where}: ${message}`, setting);
  }

  const status = statusOf(error);
  if (status === undefined) {
    const code = typeof shape.code === 'string' ? shape.code : undefined;
    const reason = code ? describeNetworkCode(code, host) : message || name || 'network error';
    return new RetryableError(`${where}: ${reason}`, 'transient', { setting });
  }

  const service = context.serviceError;
  const errorCode =
    service?.code ?? (typeof shape.details?.error?.code === 'string' ? shape.details.error.code : undefined);
  const inner = service?.innerCode ?? innerCodeOf(error);
  // Codes are identifiers (Forbidden, ForbiddenByRbac); anything else a server put there is not repeated.
  const codes = [errorCode, inner]
    .filter((code): code is string => typeof code === 'string' && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(code))
    .map(redact)
    .join('/');
  const serviceMessage = service?.message !== undefined ? redact(firstLine(service.message)) : message;
  const detail = `HTTP ${status}${codes ? ` ${codes}` : ''}${serviceMessage ? `: ${serviceMessage.replace(/\.+$/, '')}` : ''}`;
  if (status === 403) {
    const hint =
      inner === 'ForbiddenByFirewall'
        ? "the vault's firewall refused this client's address: allow it under the vault's Networking, or use a private endpoint"
        : `the ${credential} lacks the Key Vault Secrets User role on the vault ` +
          '(or, for a vault using access policies, the get and list secret permissions)';
    return new ConfigurationError(`${where}: ${detail}. Likely cause: ${hint}`, setting);
  }
  if (status === 401) {
    return new ConfigurationError(
      `${where}: ${detail}. Likely cause: the vault refused the token of the ${credential}; ` +
        "the identity may belong to another tenant than the vault's",
      setting,
    );
  }
  if (status === 404 && step === 'listing the secrets') {
    return new ConfigurationError(
      `${where}: ${detail}. Check that ${keyVaultSettings.endpoint} is a vault URL`,
      setting,
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new RetryableError(`${where}: ${detail}`, 'transient', { setting });
  }
  return new ConfigurationError(`${where}: ${detail}`, setting);
}
