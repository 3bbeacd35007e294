import { SeededRandom } from '../samples/random.js';

/**
 * Throttling and transient faults as a real deployment shows them, by rate rather than by count (for counts, see
 * `failNext`). All fractions are of requests other than GET /metadata, 0 to 1; everything is off by default.
 */
export interface TrafficOptions {
  /** Fraction of requests answered 429 without being processed. */
  throttleFraction?: number;
  /** A token bucket: sustained requests per second; requests beyond it (and the burst) are answered 429. */
  requestsPerSecond?: number;
  /** Token bucket size (default: one second's worth). */
  burst?: number;
  /** Wait advertised on a 429 (default 1000): `Retry-After` in whole seconds (rounded up), `x-ms-retry-after-ms` exact. */
  retryAfterMs?: number;
  /** Fraction answered 503 without being processed. */
  unavailableFraction?: number;
  /** Fraction whose connection is reset before the request is processed. */
  resetFraction?: number;
  /** Fraction processed, after which the connection is reset instead of answered (a lost response). */
  lostResponseFraction?: number;
  /** Seed of the random draws (default 1). */
  seed?: number;
}

export type TrafficVerdict =
  | { kind: 'process' }
  | { kind: 'throttle'; retryAfterMs: number }
  | { kind: 'unavailable' }
  | { kind: 'reset' }
  | { kind: 'lose-response' };

export interface TrafficStats {
  throttled: number;
  unavailable: number;
  reset: number;
  lostResponses: number;
}

/** Decides, per request, whether it is processed, throttled or hit by a transient fault. */
export class TrafficShaper {
  private options: TrafficOptions = {};
  private random = new SeededRandom(1);
  private tokens = 0;
  private refilledAt = 0;
  readonly stats: TrafficStats = { throttled: 0, unavailable: 0, reset: 0, lostResponses: 0 };

  constructor(options: TrafficOptions = {}) {
    this.set(options);
  }

  /** Replaces the options (undefined or {}: everything off) and restarts the random draws and the bucket. */
  set(options: TrafficOptions | undefined): void {
    const checked = options ?? {};
    for (const key of ['throttleFraction', 'unavailableFraction', 'resetFraction', 'lostResponseFraction'] as const) {
      const value = checked[key];
      if (value !== undefined && !(value >= 0 && value <= 1)) {
        throw new RangeError(`traffic.${key} must be between 0 and 1, got ${value}`);
      }
    }
    for (const key of ['requestsPerSecond', 'burst', 'retryAfterMs'] as const) {
      const value = checked[key];
      if (value !== undefined && !(value >= 0 && Number.isFinite(value))) {
        throw new RangeError(`traffic.${key} must be a non-negative number, got ${value}`);
      }
    }
    this.options = { ...checked };
    this.random = new SeededRandom(checked.seed ?? 1);
    this.tokens = this.capacity();
    this.refilledAt = Date.now();
  }

  decide(): TrafficVerdict {
    const { throttleFraction = 0, unavailableFraction = 0, resetFraction = 0, lostResponseFraction = 0 } = this.options;
    const retryAfterMs = this.options.retryAfterMs ?? 1000;
    if (!this.takeToken() || this.random.next() < throttleFraction) {
      this.stats.throttled++;
      return { kind: 'throttle', retryAfterMs };
    }
    const roll = this.random.next();
    if (roll < unavailableFraction) {
      this.stats.unavailable++;
      return { kind: 'unavailable' };
    }
    if (roll < unavailableFraction + resetFraction) {
      this.stats.reset++;
      return { kind: 'reset' };
    }
    if (roll < unavailableFraction + resetFraction + lostResponseFraction) {
      this.stats.lostResponses++;
      return { kind: 'lose-response' };
    }
    return { kind: 'process' };
  }

  private capacity(): number {
    const { requestsPerSecond, burst } = this.options;
    return requestsPerSecond === undefined ? Infinity : (burst ?? Math.max(1, requestsPerSecond));
  }

  private takeToken(): boolean {
    const { requestsPerSecond } = this.options;
    if (requestsPerSecond === undefined) return true;
    const now = Date.now();
    this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.refilledAt) / 1000) * requestsPerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
