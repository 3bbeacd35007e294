/**
 * A concurrency limit that adapts to the server (AIMD): halves when the server throttles, grows by one after
 * `limit` successes in a row. One per FHIR origin per process, so when the server says "slow down" the worker
 * as a whole sends fewer concurrent writes instead of every writer retrying into it.
 */
export class AdaptiveLimiter {
  private limitValue: number;
  private inFlight = 0;
  private successes = 0;
  private lastDecrease = -Infinity;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly maxLimit: number,
    /** A decrease within this many ms of the previous one counts as the same throttling episode. */
    private readonly episodeMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {
    this.limitValue = maxLimit;
  }

  get limit(): number {
    return this.limitValue;
  }

  get active(): number {
    return this.inFlight;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** The server throttled (429, 503): halve, once per episode (many requests fail together on one overload). */
  throttled(): void {
    const at = this.now();
    if (at - this.lastDecrease < this.episodeMs) return;
    this.lastDecrease = at;
    this.successes = 0;
    this.limitValue = Math.max(1, Math.floor(this.limitValue / 2));
  }

  succeeded(): void {
    if (this.limitValue >= this.maxLimit) return;
    this.successes += 1;
    if (this.successes >= this.limitValue) {
      this.successes = 0;
      this.limitValue += 1;
      this.wakeUp();
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.limitValue) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    this.inFlight -= 1;
    this.wakeUp();
  }

  private wakeUp(): void {
    while (this.inFlight < this.limitValue && this.waiting.length > 0) {
      this.inFlight += 1;
      this.waiting.shift()?.();
    }
  }
}

const limiters = new Map<string, AdaptiveLimiter>();

/** The process-wide write limiter of one server origin (created with `maxLimit` on first use). */
export function writeLimiterFor(url: string, maxLimit: number): AdaptiveLimiter {
  const origin = new URL(url).origin;
  let limiter = limiters.get(origin);
  if (!limiter) {
    limiter = new AdaptiveLimiter(maxLimit);
    limiters.set(origin, limiter);
  }
  return limiter;
}
