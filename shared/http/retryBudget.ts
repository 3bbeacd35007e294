import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The time one invocation may spend waiting out transient failures (backoff sleeps and the retried attempts),
 * shared by every FHIR and DICOM request it makes. When it is spent the failure goes back to the queue as a
 * RetryableError, so the host retries the message later instead of this invocation holding a writer.
 */
export class RetryBudget {
  private spentMs = 0;

  constructor(readonly totalMs: number) {}

  remainingMs(): number {
    return Math.max(0, this.totalMs - this.spentMs);
  }

  /** True (and charged) when `ms` more fits in the budget. */
  tryCharge(ms: number): boolean {
    if (this.spentMs >= this.totalMs || this.spentMs + ms > this.totalMs) return false;
    this.spentMs += ms;
    return true;
  }

  charge(ms: number): void {
    this.spentMs += ms;
  }
}

const invocationBudget = new AsyncLocalStorage<RetryBudget>();

/** Runs one invocation with its own retry budget; every request made inside (however deep) draws from it. */
export function withRetryBudget<T>(totalMs: number, work: () => Promise<T>): Promise<T> {
  return invocationBudget.run(new RetryBudget(totalMs), work);
}

/** The budget of the running invocation, or a fresh one for a request made outside any (CLI, tooling). */
export function currentRetryBudget(fallbackMs: number): RetryBudget {
  return invocationBudget.getStore() ?? new RetryBudget(fallbackMs);
}

/** What the transport did about transient failures in this process (for `npm run local` and tests). */
export interface TransportStats {
  /** Attempts repeated after a transient failure. */
  retries: number;
  /** Milliseconds slept before those attempts. */
  waitedMs: number;
  /** Requests that failed for good inside their invocation because the budget was spent (left to the queue). */
  budgetExhausted: number;
  /** Transient failures by cause: HTTP status or network code. */
  causes: Record<string, number>;
}

const stats: TransportStats = { retries: 0, waitedMs: 0, budgetExhausted: 0, causes: {} };

export function recordRetry(cause: string, waitedMs: number): void {
  stats.retries += 1;
  stats.waitedMs += waitedMs;
  stats.causes[cause] = (stats.causes[cause] ?? 0) + 1;
}

export function recordBudgetExhausted(): void {
  stats.budgetExhausted += 1;
}

export function transportStats(): TransportStats {
  return { ...stats, causes: { ...stats.causes } };
}

export function resetTransportStats(): void {
  stats.retries = 0;
  stats.waitedMs = 0;
  stats.budgetExhausted = 0;
  stats.causes = {};
}
