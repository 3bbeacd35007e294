import axios, { AxiosHeaders, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { AuthorizationProvider } from '../auth/authorizationProvider.js';
import { RetryableError } from '../errors/errors.js';

export interface ServerHttpClientOptions {
  baseUrl: string;
  authorization: AuthorizationProvider;
  timeoutMs?: number;
}

type RetriableConfig = InternalAxiosRequestConfig & { authRetried?: boolean };

/**
 * A request that got no response (refused, reset, timed out, canceled). Replaces axios' error,
 * whose config and request carry the Authorization header; keeps only the method, the URL without its query and the code.
 */
export class ServerRequestError extends RetryableError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message, 'transient');
  }
}

/**
 * An axios instance for one server: adds the Authorization header the provider gives for the request's URL,
 * and on a 401 to a request that carried a token, drops that token and retries once with a fresh one (never a loop).
 * Status codes are not turned into exceptions: callers decide what a 404 or a 412 means.
 * Errors from the provider (token endpoint refused or unreachable) come out unchanged.
 */
export function createServerHttpClient(options: ServerHttpClientOptions): AxiosInstance {
  const client = axios.create({
    baseURL: options.baseUrl.replace(/\/+$/, '') + '/',
    timeout: options.timeoutMs ?? 30_000,
    validateStatus: () => true,
    maxRedirects: 0,
  });
  client.interceptors.request.use(async (config) => {
    const url = client.getUri(config);
    const header = await options.authorization.authorizationFor(url);
    const headers = AxiosHeaders.from(config.headers);
    if (header) headers.set('Authorization', header);
    else headers.delete('Authorization');
    config.headers = headers;
    return config;
  });
  client.interceptors.response.use(
    async (response) => {
      const config = response.config as RetriableConfig;
      const sent = AxiosHeaders.from(config.headers).get('Authorization');
      // Without a token sent, a retry would get the same 401.
      if (response.status === 401 && !config.authRetried && typeof sent === 'string') {
        options.authorization.invalidate(sent);
        config.authRetried = true;
        return client.request(config);
      }
      return response;
    },
    (error: unknown) => {
      if (!axios.isAxiosError(error)) throw error;
      const code = error.code ?? 'network error';
      const method = (error.config?.method ?? 'request').toUpperCase();
      const reason = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? `timed out (${code})` : code;
      throw new ServerRequestError(`${method} ${describeUrl(client, error.config)} failed: ${reason}`, code);
    },
  );
  return client;
}

function describeUrl(client: AxiosInstance, config: InternalAxiosRequestConfig | undefined): string {
  if (!config) return '(unknown URL)';
  try {
    const url = new URL(client.getUri(config));
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(unknown URL)';
  }
}
