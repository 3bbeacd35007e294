/** Requests received, by FHIR interaction ('read', 'search-type', 'transaction', ...). */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  count(interaction: string): void {
    this.counts.set(interaction, (this.counts.get(interaction) ?? 0) + 1);
  }

  total(): number {
    let total = 0;
    this.counts.forEach((n) => (total += n));
    return total;
  }

  byInteraction(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }
}

/** Fault injection: the next `count` requests are answered with `status` without being processed. */
export class FaultInjector {
  private remaining = 0;
  private status = 500;

  failNext(count: number, status: number): void {
    this.remaining = count;
    this.status = status;
  }

  /** The status to fail this request with, or undefined to process it normally. */
  take(): number | undefined {
    if (this.remaining <= 0) {
      return undefined;
    }
    this.remaining -= 1;
    return this.status;
  }

  clear(): void {
    this.remaining = 0;
  }
}
