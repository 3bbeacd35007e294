import axios, { type AxiosInstance } from 'axios';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { expiryOfTokenResponse, type TokenSource } from './accessToken.js';
import type { OAuth2AuthConfig } from './authConfig.js';
import { redactSecrets, rememberSecret } from '../telemetry/redaction.js';

export interface OAuth2TokenSourceDeps {
  http?: AxiosInstance;
  now?: () => number;
}

/** A client that never follows redirects (a 307 would replay the secret-bearing body to another host) and never throws on status. */
export function createTokenHttpClient(timeoutMs = 30_000): AxiosInstance {
  return axios.create({ timeout: timeoutMs, maxRedirects: 0, validateStatus: () => true });
}

/**
 * Tokens from any OAuth2 token endpoint (client_credentials or password grant), as a form POST.
 * Errors name the token URI, the HTTP status and the OAuth `error` / `error_description`; they never carry
 * the request (its body holds the secret) nor the axios error itself (its config does too).
 */
export function oauth2TokenSource(config: OAuth2AuthConfig, deps: OAuth2TokenSourceDeps = {}): TokenSource {
  const http = deps.http ?? createTokenHttpClient();
  const now = deps.now ?? Date.now;
  const where = describeUri(config.tokenUri);
  const secrets = [config.clientSecret, config.password].filter((value): value is string => !!value);
  for (const secret of secrets) rememberSecret(secret);
  // Also the short ones rememberSecret ignores: this text comes from the endpoint the secret was just sent to.
  const redact = (text: string) =>
    redactSecrets(secrets.reduce((result, secret) => result.split(secret).join('***'), text));

  return async () => {
    const form = new URLSearchParams({ grant_type: config.grantType, client_id: config.clientId });
    if (config.clientSecret !== undefined) form.set('client_secret', config.clientSecret);
    if (config.grantType === 'password') {
      form.set('username', config.username ?? '');
      form.set('password', config.password ?? '');
    }
    if (config.scope !== undefined) form.set('scope', config.scope);
    if (config.resource !== undefined) form.set('resource', config.resource);

    const requestedAt = now();
    let status: number;
    let body: unknown;
    try {
      const response = await http.post<unknown>(config.tokenUri, form.toString(), {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        responseType: 'json',
        validateStatus: () => true,
      });
      status = response.status;
      body = response.data;
    } catch (error) {
      throw new RetryableError(
        `Token endpoint ${where} for the ${config.server} server could not be reached (${networkReason(error)})`,
        'transient',
        { setting: `${config.settingPrefix}:TokenUri` },
      );
    }

    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    if (status >= 200 && status < 300) {
      const token = fields.access_token;
      if (typeof token !== 'string' || token === '') {
        throw new RetryableError(
          `Token endpoint ${where} for the ${config.server} server answered HTTP ${status} without an access_token`,
          'transient',
          { setting: `${config.settingPrefix}:TokenUri` },
        );
      }
      return { token, expiresAt: expiryOfTokenResponse(token, fields.expires_in, requestedAt) };
    }

    const oauthError = typeof fields.error === 'string' ? redact(fields.error).slice(0, 100) : undefined;
    const description =
      typeof fields.error_description === 'string' ? redact(fields.error_description).slice(0, 500) : undefined;
    const detail = [oauthError, description].filter(Boolean).join(': ');
    const message =
      `Token endpoint ${where} for the ${config.server} server refused the ${config.grantType} request: ` +
      `HTTP ${status}${detail ? ` ${detail}` : ''}`;
    if (status === 408 || status === 429 || status >= 500) {
      throw new RetryableError(message, 'transient', { setting: `${config.settingPrefix}:TokenUri` });
    }
    // A rejected client or user (invalid_client, invalid_grant, ...) is fixed in the settings, not by retrying.
    throw new NonRetryableError(message, 'configuration', { setting: config.settingPrefix });
  };
}

/** The URI without query or user info, which could carry credentials. */
function describeUri(uri: string): string {
  try {
    const url = new URL(uri);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URI)';
  }
}

function networkReason(error: unknown): string {
  if (axios.isAxiosError(error)) {
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') return 'timed out';
    if (error.code) return error.code;
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return 'network error';
}
