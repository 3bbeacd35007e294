/** Peak memory of one phase, in MiB: the peak of each figure and its rise over the value at the phase start. */
export interface MemoryPeak {
  rssStartMb: number;
  rssPeakMb: number;
  rssPeakDeltaMb: number;
  heapUsedStartMb: number;
  heapUsedPeakMb: number;
  heapUsedPeakDeltaMb: number;
  samples: number;
  /** CPU time (user + system) the process spent during the phase: unlike wall time, not inflated by a busy machine. */
  cpuMs: number;
}

const mb = (bytes: number) => bytes / (1024 * 1024);

/** Forces a full collection when node runs with --expose-gc (npm run bench does), so phases start level. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

/**
 * Samples process.memoryUsage() (rss and heapUsed) every `intervalMs` while a phase runs, and the CPU time it took. The timer only fires
 * when the event loop is free, so a long synchronous stretch is seen at its end; stop() takes a last sample.
 */
export class MemorySampler {
  private readonly start = process.memoryUsage();
  private readonly cpuStart = process.cpuUsage();
  private peakRss = this.start.rss;
  private peakHeapUsed = this.start.heapUsed;
  private samples = 1;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const { rss, heapUsed } = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, rss);
    this.peakHeapUsed = Math.max(this.peakHeapUsed, heapUsed);
    this.samples++;
  }

  stop(): MemoryPeak {
    this.sample();
    clearInterval(this.timer);
    const cpu = process.cpuUsage(this.cpuStart);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssStartMb: mb(this.start.rss),
      rssPeakMb: mb(this.peakRss),
      rssPeakDeltaMb: mb(this.peakRss - this.start.rss),
      heapUsedStartMb: mb(this.start.heapUsed),
      heapUsedPeakMb: mb(this.peakHeapUsed),
      heapUsedPeakDeltaMb: mb(this.peakHeapUsed - this.start.heapUsed),
      samples: this.samples,
    };
  }
}
