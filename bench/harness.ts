// What every bench scenario shares: the servers in their own process, Azurite, the local Functions host that
// `npm run local` runs (in this process: what this process uses is the sync's), and one way to time a phase.
import { startAzurite, type RunningAzurite } from '../dev/azurite.js';
import { LocalFunctionsHost } from '../dev/functionsHost/localFunctionsHost.js';
import { makeSampleStudies, type InstanceSpec } from '../dev/samples/index.js';
import type { FlatSettings } from '../shared/config/settingsSource.js';
import { errorMessage } from '../shared/lib/errorDetails.js';
import { collectGarbage, MemorySampler, type MemoryPeak } from './memorySampler.js';
import { PhaseProfiler } from './phaseProfiler.js';
import { RemoteServers, type ServerCounts } from './remoteServers.js';
import { generateFiles, stowFiles, type Part10Workload } from './workload.js';

export const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`);

/** What the functions logged, counted: conflicts retried, warnings, errors. */
export class HostLogCounter {
  conflicts = 0;
  warnings = 0;
  errors = 0;
  readonly firstErrors: string[] = [];
  readonly log = (level: string, functionName: string, ...args: unknown[]) => {
    const text = args.map(errorMessage).join(' ');
    if (text.startsWith('Conflict on study')) this.conflicts++;
    if (level === 'warning') this.warnings++;
    if (level === 'error') {
      this.errors++;
      if (this.firstErrors.length < 3) this.firstErrors.push(`${functionName}: ${text.slice(0, 300)}`);
    }
  };
  snapshot() {
    return { conflicts: this.conflicts, warnings: this.warnings, errors: this.errors };
  }
}

export interface HostActivity {
  writerInvocations: number;
  writerFailures: number;
  conflictRetries: number;
  warnings: number;
  errors: number;
}

export interface Measured<T> {
  value: T;
  ms: number;
  /** This process: the poller, the queue client and the writers (the sync). */
  syncMemory: MemoryPeak;
  /** The server process (DICOM stand-in and FHIR server). */
  serverMemory: MemoryPeak;
  counts: ServerCounts;
}

export class BenchStack {
  readonly logs = new HostLogCounter();
  readonly host: LocalFunctionsHost;

  /** Where measure() writes CPU profiles of each phase (sync and servers); none when undefined. */
  profileDir: string | undefined;

  private constructor(
    readonly servers: RemoteServers,
    readonly azurite: RunningAzurite,
    readonly settings: FlatSettings,
  ) {
    this.host = new LocalFunctionsHost({ settings, log: this.logs.log });
  }

  static async start(fhirLatencyMs = 0): Promise<BenchStack> {
    const [servers, azurite] = await Promise.all([RemoteServers.start(fhirLatencyMs), startAzurite()]);
    const settings: FlatSettings = {
      AzureWebJobsStorage: azurite.connectionString,
      DicomWeb__Endpoint: servers.dicomUrl,
      Fhir__Endpoint: servers.fhirUrl,
      // The bench drives the poller itself (runOnce); the schedule only has to be valid.
      DicomCast__Schedule: '0 0 0 1 1 *',
    };
    return new BenchStack(servers, azurite, settings);
  }

  get dicomUrl(): string {
    return this.servers.dicomUrl;
  }

  get fhirUrl(): string {
    return this.servers.fhirUrl;
  }

  async close(): Promise<void> {
    await this.host.stop();
    await Promise.all([this.servers.close(), this.azurite.close()]);
  }

  /** Part-10 files made and stored with STOW-RS, untimed. */
  async store(label: string, specs: InstanceSpec[]): Promise<Part10Workload> {
    const workload = generateFiles(specs);
    const stowMs = await stowFiles(this.dicomUrl, workload.files);
    progress(
      `${label}: ${specs.length} Part-10 files made in ${(workload.generateMs / 1000).toFixed(1)} s, ` +
        `stored with STOW-RS in ${(stowMs / 1000).toFixed(1)} s (neither is timed)`,
    );
    return workload;
  }

  /** Part-10 files made before (another stack may have stored them too) stored with STOW-RS, untimed. */
  async stow(label: string, workload: Part10Workload): Promise<void> {
    const stowMs = await stowFiles(this.dicomUrl, workload.files);
    progress(
      `${label}: ${workload.files.length} Part-10 files stored with STOW-RS in ${(stowMs / 1000).toFixed(1)} s (not timed)`,
    );
  }

  /**
   * Not measured: a small study through the whole pipeline, then FHIR emptied, so neither the sync nor the direct
   * writer pays for first-use costs (JIT, the runtime's tables and queues, the validators, the servers' own).
   */
  async warmUp(): Promise<void> {
    await this.store(
      'warm-up',
      makeSampleStudies({ studies: 1, seriesPerStudy: 2, instancesPerSeries: 5, seed: 999_999 }),
    );
    await this.syncOnce();
    await this.servers.resetFhir();
  }

  /** Counters reset, a full GC, memory sampled every 50 ms on both sides, the clock around `run` only. */
  async measure<T>(label: string, run: () => Promise<T>): Promise<Measured<T>> {
    await Promise.all([this.servers.resetCounts(), this.servers.resetMemory()]);
    const profiler = this.profileDir ? new PhaseProfiler() : undefined;
    if (profiler) await Promise.all([profiler.start(), this.servers.profileStart()]);
    collectGarbage();
    const sampler = new MemorySampler(50);
    const started = performance.now();
    let value: T;
    let ms: number;
    let syncMemory: MemoryPeak;
    try {
      value = await run();
    } finally {
      ms = performance.now() - started;
      syncMemory = sampler.stop();
    }
    if (profiler && this.profileDir) {
      const name = label.replace(/[^a-z0-9]+/gi, '-');
      const written = await Promise.all([
        profiler.stop(this.profileDir, `${name}.sync`),
        this.servers.profileStop(this.profileDir, `${name}.servers`),
      ]);
      progress(`CPU profiles: ${written.join(', ')}`);
    }
    const [counts, serverMemory] = await Promise.all([this.servers.counts(), this.servers.memory()]);
    return { value, ms, syncMemory, serverMemory, counts };
  }

  /** One poll and every queued study written (LocalFunctionsHost.runOnce), and what the writer did meanwhile. */
  async syncOnce(): Promise<HostActivity> {
    const before = { ...this.host.writer.stats, ...this.logs.snapshot() };
    await this.host.runOnce();
    const after = { ...this.host.writer.stats, ...this.logs.snapshot() };
    return {
      writerInvocations: after.invocations - before.invocations,
      writerFailures: after.failed - before.failed,
      conflictRetries: after.conflicts - before.conflicts,
      warnings: after.warnings - before.warnings,
      errors: after.errors - before.errors,
    };
  }
}
