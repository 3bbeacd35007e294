// The bench's servers in their own process, as a user runs them next to `npm run local --dicom-url/--fhir-url`:
// the DICOM service stand-in and the FHIR server. The parent (bench/remoteServers.ts) drives them over IPC, so
// the bench process holds the sync alone and its memory is the sync's.
import { startDicomServer } from '../dev/dicom-server/index.js';
import { startFhirServer } from '../dev/fhir-server/index.js';
import { errorMessage } from '../shared/lib/errorDetails.js';
import { MemorySampler } from './memorySampler.js';
import { PhaseProfiler } from './phaseProfiler.js';

export type ServerCall =
  | { op: 'counts' }
  | { op: 'resetCounts' }
  | { op: 'resetFhir' }
  | { op: 'all'; resourceType: string }
  | { op: 'memory' }
  | { op: 'resetMemory' }
  | { op: 'profileStart' }
  | { op: 'profileStop'; dir: string; name: string }
  | { op: 'close' };

export interface ServerRequest {
  id: number;
  call: ServerCall;
}

export interface ServerReply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface ServersReady {
  ready: true;
  dicomUrl: string;
  fhirUrl: string;
}

const send = (message: ServerReply | ServersReady) => process.send?.(message);

// `--fhir-latency-ms N` (bench.ts passes it on): the FHIR server's simulated storage latency per read, write and search.
const latencyArgument = process.argv.indexOf('--fhir-latency-ms');
const storageLatencyMs = latencyArgument >= 0 ? Number(process.argv[latencyArgument + 1]) : 0;
const [dicom, fhir] = await Promise.all([
  startDicomServer({ port: 0 }),
  startFhirServer({ port: 0, ...(storageLatencyMs > 0 ? { storageLatencyMs } : {}) }),
]);
let memory = new MemorySampler(50);
const profiler = new PhaseProfiler();

async function run(call: ServerCall): Promise<unknown> {
  switch (call.op) {
    case 'counts':
      return {
        fhirRequests: fhir.requestCount(),
        fhirByInteraction: fhir.requestCounts(),
        dicomRequests: dicom.requestCount(),
        dicomTraffic: dicom.traffic(),
      };
    case 'resetCounts':
      fhir.resetRequestCount();
      dicom.resetRequestCount();
      return undefined;
    case 'resetFhir':
      return fhir.reset();
    case 'all':
      return fhir.all(call.resourceType);
    case 'memory':
      return memory.stop();
    case 'resetMemory':
      memory.stop();
      memory = new MemorySampler(50);
      return undefined;
    case 'profileStart':
      return profiler.start();
    case 'profileStop':
      return profiler.stop(call.dir, call.name);
    case 'close':
      memory.stop();
      await Promise.all([dicom.close(), fhir.close()]);
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

process.on('message', (message: ServerRequest) => {
  run(message.call).then(
    (result) => send({ id: message.id, result }),
    (error: unknown) => send({ id: message.id, error: errorMessage(error) }),
  );
});
// The parent going away takes the servers with it.
process.on('disconnect', () => process.exit(0));
send({ ready: true, dicomUrl: dicom.url, fhirUrl: fhir.url });
