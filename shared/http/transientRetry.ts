import type { AxiosResponse } from 'axios';
import { RetryableError } from '../errors/errors.js';
import { retryAfterMs } from './retryAfter.js';
import { currentRetryBudget, recordBudgetExhausted, recordRetry } from './retryBudget.js';
import { ServerRequestError } from './serverHttpClient.js';

/** Statuses that say "not now": the request was not processed, or may be repeated safely (see the README). */
const transientStatuses = new Set([408, 429, 502, 503, 504]);
/** A server that throttles says so with these; the write limiter slows the whole worker down on them. */
const throttleStatuses = new Set([429, 503]);
/** Network failures worth another attempt: refused, reset (also a response lost after the request was sent), timed out. */
const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ERR_NETWORK',
]);

const timeoutCodes = new Set(['ETIMEDOUT', 'ECONNABORTED']);

export interface RetryPolicy {
  /** The budget of a request made outside an invocation (CLI, tools); inside one, the invocation's budget applies. */
  fallbackBudgetMs: number;
  /** First backoff ceiling; doubles per attempt up to maxDelayMs (full jitter: a uniform wait below the ceiling). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts per request at most, whatever the budget (a server answering Retry-After: 0 forever). */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface RetryHooks {
  /** The server throttled (429/503): the adaptive limiter halves. */
  onThrottle?: () => void;
  /** A 2xx: the limiter may grow. */
  onSuccess?: () => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The exponential full-jitter wait before attempt `attempt + 1`, at least what the server asked for. */
export function backoffMs(attempt: number, serverAskedMs: number | undefined, policy: RetryPolicy): number {
  const base = policy.baseDelayMs ?? 200;
  const max = policy.maxDelayMs ?? 10_000;
  const ceiling = Math.min(max, base * 2 ** (attempt - 1));
  const jitter = Math.floor((policy.random ?? Math.random)() * ceiling);
  return serverAskedMs === undefined ? jitter : Math.max(serverAskedMs, jitter);
}

/**
 * Sends a request until it gets an answer that is not transient, or the invocation's retry budget (waits plus
 * retried attempts) is spent. Then the last transient answer is returned (the caller turns its status into a
 * RetryableError) or the last network error is thrown (a RetryableError): either way the queue retries later.
 * Anything else (a 2xx, a 4xx, a non-retryable error, an auth failure) comes back at once.
 */
export async function sendWithRetries<Response extends AxiosResponse<unknown>>(
  send: () => Promise<Response>,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<Response> {
  const budget = currentRetryBudget(policy.fallbackBudgetMs);
  const sleep = policy.sleep ?? defaultSleep;
  const maxAttempts = policy.maxAttempts ?? 12;
  let timeouts = 0;
  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    let cause: string;
    let serverAsked: number | undefined;
    let failure: { response: Response } | { error: unknown };
    try {
      const response = await send();
      if (!transientStatuses.has(response.status)) {
        if (response.status >= 200 && response.status < 300) hooks.onSuccess?.();
        return response;
      }
      if (throttleStatuses.has(response.status)) hooks.onThrottle?.();
      cause = String(response.status);
      serverAsked = retryAfterMs(response.headers);
      failure = { response };
    } catch (error) {
      if (!(error instanceof ServerRequestError) || !transientCodes.has(error.code)) throw error;
      cause = error.code;
      failure = { error };
      if (timeoutCodes.has(cause)) timeouts += 1;
    }
    // The first attempt is the request itself; the time of every repeat is spent from the budget.
    if (attempt > 1) budget.charge(performance.now() - started);
    const delay = backoffMs(attempt, serverAsked, policy);
    // A request that ran into its deadline twice (a body trickling in, a server that holds replies) is left to the
    // queue: a third wait of a whole deadline would hold the writer for little chance.
    if (attempt >= maxAttempts || timeouts > 1 || !budget.tryCharge(delay)) {
      recordBudgetExhausted();
      if ('response' in failure) return failure.response;
      throw failure.error instanceof RetryableError
        ? failure.error
        : new RetryableError(String(failure.error), 'transient', {}, { cause: failure.error });
    }
    if ('response' in failure) discardBody(failure.response);
    recordRetry(cause, delay);
    await sleep(delay);
  }
}

/** A streamed body of a response that is retried is never read: release its socket. */
function discardBody(response: AxiosResponse<unknown>): void {
  const body = response.data as { destroy?: unknown } | null | undefined;
  if (body && typeof body.destroy === 'function') (body as { destroy: () => void }).destroy();
}
