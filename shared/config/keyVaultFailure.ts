import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { ConfigurationError, RetryableError } from '../errors/errors.js';
import { httpStatusOf } from '../lib/errorDetails.js';

/**
 * Why reading a Key Vault failed, in words an operator can act on: the vault's own error codes (kept by a pipeline
 * policy, since the SDK's paging error drops them), the network code, or the HTTP status, never a secret value.
 */
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
export function captureServiceErrors(): {
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

export interface FailureContext {
  vault: string;
  /** The names of the settings a message points at (`KeyVault:Endpoint`, `KeyVault:ClientId`). */
  settingNames: { endpoint: string; clientId: string };
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
  details?: { error?: { code?: unknown; message?: unknown; innerError?: { code?: unknown } } };
}

export function innerCodeOf(error: unknown): string | undefined {
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

export function keyVaultFailure(error: unknown, context: FailureContext): Error {
  const { vault, step, credential, redact } = context;
  const { endpoint: setting, clientId: clientIdSetting } = context.settingNames;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const message = typeof shape.message === 'string' ? redact(firstLine(shape.message)) : '';
  const where = `Key Vault ${vault} (${setting}): ${step} failed`;
  const host = new URL(vault).host;

  if (name === 'AbortError') {
    return new RetryableError(`${where}: timed out after ${context.timeoutMs / 1000} s`, 'transient', { setting });
  }
  if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError') {
    return new ConfigurationError(
      `${where}: the ${credential} could not get a token for the vault: ${message || name}. ` +
        `On Azure, check that the app's managed identity is on (a user-assigned one needs ${clientIdSetting}); ` +
        'locally, sign in with az login',
      setting,
    );
  }
  if (name === 'AuthenticationError') {
    const status = httpStatusOf(error);
    const text = `${where}: the ${credential} could not get a token for the vault: ${message || name}`;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return new ConfigurationError(text, setting);
    }
    return new RetryableError(text, 'transient', { setting });
  }
  if (message.startsWith('The challenge resource')) {
    return new ConfigurationError(`${where}: ${message}`, setting);
  }

  const status = httpStatusOf(error);
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
    return new ConfigurationError(`${where}: ${detail}. Check that ${setting} is a vault URL`, setting);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new RetryableError(`${where}: ${detail}`, 'transient', { setting });
  }
  return new ConfigurationError(`${where}: ${detail}`, setting);
}
