import http from 'node:http';
import https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import axios, { AxiosHeaders, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { AuthorizationProvider } from '../auth/authorizationProvider.js';
import { NonRetryableError, RetryableError, type ErrorCategory } from '../errors/errors.js';

export interface ServerHttpClientOptions {
  baseUrl: string;
  authorization: AuthorizationProvider;
  /** Total deadline of one request, body included (default 30 s): a body trickling in cannot hold a caller. */
  timeoutMs?: number;
  /** Largest response body accepted (default 16 MiB); a bigger or endless body is cut off, never buffered. */
  maxResponseBytes?: number;
  /** The settings that set the two limits above, named in the errors they cause. */
  limitSettings?: { timeout?: string; responseBytes?: string };
}

/** Per-request overrides: a larger cap for study metadata, the category and setting its errors carry. */
export interface ResponseLimit {
  maxBytes: number;
  setting: string;
  category: ErrorCategory;
}

type RetriableConfig = InternalAxiosRequestConfig & {
  authRetried?: boolean;
  deadline?: AbortSignal;
  responseLimit?: ResponseLimit;
};

declare module 'axios' {
  interface AxiosRequestConfig {
    /** Caps the response body of this request (default: the client's maxResponseBytes). */
    responseLimit?: ResponseLimit;
  }
}

/**
 * A request that got no (complete) response: refused, reset, timed out, past its deadline. Replaces axios' error,
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

/** A response body over its byte limit: cut off, and not retried (the same request would get the same body). */
export class ResponseTooLargeError extends NonRetryableError {
  readonly code = 'response-too-large';
}

/**
 * Connections kept open between requests and reused (no TCP and TLS handshake per request), shared by every
 * server client of the process. Explicit rather than Node's global agents, so the reuse does not depend on the
 * Node version's defaults or on a library replacing them; at most `maxSockets` connections per origin (a worker's
 * 16 concurrent writers and their reads fit; a burst waits for a connection rather than exhausting outbound ports).
 * Idle connections close after 5 s, before common server keep-alive timeouts.
 */
const agentOptions = { keepAlive: true, scheduling: 'lifo', timeout: 5_000, maxSockets: 64 } as const;
export const keepAliveAgents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };

/**
 * An axios instance for one server: adds the Authorization header the provider gives for the request's URL,
 * and on a 401 to a request that carried a token, drops that token and retries once with a fresh one (never a loop).
 * Never follows a redirect; every request has a total deadline and a body size limit.
 * Status codes are not turned into exceptions: callers decide what a 404 or a 412 means.
 * Errors from the provider (token endpoint refused or unreachable) come out unchanged.
 */
export function createServerHttpClient(options: ServerHttpClientOptions): AxiosInstance {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const defaultLimit: ResponseLimit = {
    maxBytes: options.maxResponseBytes ?? 16 * 1024 * 1024,
    setting: options.limitSettings?.responseBytes ?? 'the response size limit',
    // Raising the limit setting is the fix, so the error names it as a configuration problem.
    category: 'configuration',
  };
  const client = axios.create({
    baseURL: options.baseUrl.replace(/\/+$/, '') + '/',
    // Connect and idle timeout; the deadline below bounds the whole exchange.
    timeout: timeoutMs,
    validateStatus: () => true,
    maxRedirects: 0,
    // Nothing this app sends is large; a request body cap keeps a mapping bug from sending a gigabyte.
    maxBodyLength: 64 * 1024 * 1024,
    httpAgent: keepAliveAgents.http,
    httpsAgent: keepAliveAgents.https,
  });
  client.interceptors.request.use(async (config: RetriableConfig) => {
    const url = client.getUri(config);
    const header = await options.authorization.authorizationFor(url);
    const headers = AxiosHeaders.from(config.headers);
    if (header) headers.set('Authorization', header);
    else headers.delete('Authorization');
    config.headers = headers;
    const limit = config.responseLimit ?? defaultLimit;
    config.responseLimit = limit;
    config.maxContentLength = limit.maxBytes;
    config.deadline = AbortSignal.timeout(timeoutMs);
    config.signal = config.signal ? AbortSignal.any([config.signal as AbortSignal, config.deadline]) : config.deadline;
    return config;
  });
  /**
   * What a request that got no (complete) response fails with: a timed-out one names the deadline's setting, one
   * over its byte limit names that setting, anything else carries its network code. Never axios' own error, whose
   * config and request carry the Authorization header.
   */
  const failureOf = (error: unknown, config: RetriableConfig | undefined): Error => {
    const request = `${(config?.method ?? 'request').toUpperCase()} ${describeUrl(client, config)}`;
    if (config?.deadline?.aborted) {
      const setting = options.limitSettings?.timeout ? `, ${options.limitSettings.timeout}` : '';
      return new ServerRequestError(
        `${request} failed: timed out (no complete response within ${timeoutMs / 1000} s${setting})`,
        'ETIMEDOUT',
      );
    }
    const limit = config?.responseLimit;
    if (limit && error instanceof Error && /maxContentLength/.test(error.message)) {
      return new ResponseTooLargeError(
        `${request} failed: the response body exceeds ${limit.maxBytes} bytes (${limit.setting}); it was not read further`,
        limit.category,
      );
    }
    const code = networkCodeOf(error);
    const reason = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? `timed out (${code})` : code;
    return new ServerRequestError(`${request} failed: ${reason}`, code);
  };
  client.interceptors.response.use(
    async (response) => {
      const config = response.config as RetriableConfig;
      const sent = AxiosHeaders.from(config.headers).get('Authorization');
      // Without a token sent, a retry would get the same 401.
      if (response.status === 401 && !config.authRetried && typeof sent === 'string') {
        options.authorization.invalidate(sent);
        config.authRetried = true;
        // Read to its end, or the connection stays taken by it until the deadline ends it.
        if (config.responseType === 'stream') drain(response.data as Readable);
        const { signal: _previous, ...retry } = config;
        return client.request(retry);
      }
      // A body read as a stream fails after this point: with the same errors as a body read whole.
      if (config.responseType === 'stream') {
        response.data = failingAs(response.data as Readable, (error) => failureOf(error, config));
      }
      return response;
    },
    (error: unknown) => {
      if (!axios.isAxiosError(error)) throw error;
      throw failureOf(error, error.config as RetriableConfig | undefined);
    },
  );
  return client;
}

/** A streamed body not read: read to its end (errors ignored) so its connection is free for the next request. */
export function drain(body: Readable): void {
  body.on('error', () => undefined);
  body.resume();
}

function networkCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : 'network error';
}

/**
 * `body` with its errors replaced by `failureOf`'s (axios fails a stream with its own error, config and headers
 * included, or with "canceled" at the deadline). Destroying the copy releases the connection at once.
 */
function failingAs(body: Readable, failureOf: (error: unknown) => Error): Readable {
  const copy = new PassThrough();
  body.on('error', (error) => copy.destroy(failureOf(error)));
  copy.on('close', () => body.destroy());
  return body.pipe(copy);
}

export function describeUrl(client: AxiosInstance, config: InternalAxiosRequestConfig | undefined): string {
  if (!config) return '(unknown URL)';
  try {
    const url = new URL(client.getUri(config));
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(unknown URL)';
  }
}
