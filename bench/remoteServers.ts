import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Traffic } from '../dev/dicom-server/trafficCounter.js';
import type { MemoryPeak } from './memorySampler.js';
import type { ServerCall, ServerReply, ServerRequest, ServersReady } from './serverProcess.js';

export interface ServerCounts {
  fhirRequests: number;
  fhirByInteraction: Record<string, number>;
  dicomRequests: number;
  dicomTraffic: Record<string, Traffic>;
}

/** The DICOM and FHIR servers running in a child process (bench/serverProcess.ts), driven over IPC. */
export class RemoteServers {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly dicomUrl: string,
    readonly fhirUrl: string,
  ) {
    child.on('message', (message: ServerReply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`server process: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.once('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`server process exited (${code})`));
      this.pending.clear();
    });
  }

  /** `fhirLatencyMs`: the FHIR server's simulated storage latency per read, write and search (default none). */
  static async start(fhirLatencyMs = 0): Promise<RemoteServers> {
    const script = fileURLToPath(new URL('./serverProcess.js', import.meta.url));
    const args = fhirLatencyMs > 0 ? ['--fhir-latency-ms', String(fhirLatencyMs)] : [];
    const child = fork(script, args, { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<ServersReady>((resolve, reject) => {
      child.once('message', (message: ServersReady) => resolve(message));
      child.once('exit', (code) => reject(new Error(`the server process exited (${code}) before it was ready`)));
    });
    return new RemoteServers(child, ready.dicomUrl, ready.fhirUrl);
  }

  private call<T>(call: ServerCall): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, call } satisfies ServerRequest);
    });
  }

  counts = () => this.call<ServerCounts>({ op: 'counts' });
  resetCounts = () => this.call<void>({ op: 'resetCounts' });
  resetFhir = () => this.call<void>({ op: 'resetFhir' });
  all = <T>(resourceType: string) => this.call<T[]>({ op: 'all', resourceType });
  /** The servers' peak memory since the last resetMemory. */
  memory = () => this.call<MemoryPeak>({ op: 'memory' });
  resetMemory = () => this.call<void>({ op: 'resetMemory' });
  profileStart = () => this.call<void>({ op: 'profileStart' });
  profileStop = (dir: string, name: string) => this.call<string>({ op: 'profileStop', dir, name });
  close = () => this.call<void>({ op: 'close' }).catch(() => undefined);
}
