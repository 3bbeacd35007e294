// Target 1 against FHIR servers of different speeds: for each storage latency of the sweep, a fresh server process
// whose FHIR server waits that long on every storage read, write and search (writes alone, reads together), the
// default workload through the sync (as the throughput scenario runs it, without its steady-state pass), then the
// same final resources written straight into that server. With no latency the in-memory server is faster than any
// real one and the ratio is CPU-bound; a real server's storage (SQL Server behind AHDS, Postgres behind HAPI) costs
// milliseconds per query, so the rows with latency are what users see.
import { makeSampleStudies } from '../../dev/samples/index.js';
import { BenchStack, progress, type HostActivity } from '../harness.js';
import { limitRatios } from '../limitRatio.js';
import { completenessCheck, figuresOf, straightRow, syncRow, type Row } from '../limitRuns.js';
import { rowAtLatency } from '../latencySweep.js';
import { atLeast, fixed, table, type Check, type Section } from '../report.js';
import { generateFiles, type Part10Workload } from '../workload.js';

export interface LatencySweepOptions {
  /** FHIR storage latencies in ms, one stack each, in this order. */
  latencies: readonly number[];
  studies: number;
  series: number;
  instances: number;
  seed: number;
  /** Where each run's CPU profiles go (--cpu-prof-dir); none when undefined. */
  profileDir: string | undefined;
}

const RATIO_TARGET = 0.5;
/** The latency the target is checked at: a few ms per query is what a real FHIR server's database costs. */
export const CHECKED_LATENCY_MS = 5;

interface LatencyRow {
  latencyMs: number;
  ours: Row<HostActivity>;
  straight: Row;
  ratio: number;
  cpuRatio: number;
  fhirPerStudy: number;
  /** The first errors the functions logged on this stack. */
  errors: string[];
}

async function measureAtLatency(
  latencyMs: number,
  workload: Part10Workload,
  profileDir: string | undefined,
): Promise<LatencyRow> {
  progress(`${latencyMs} ms: starting the servers (own process, FHIR storage latency ${latencyMs} ms) and Azurite`);
  const stack = await BenchStack.start(latencyMs);
  try {
    stack.profileDir = profileDir;
    await stack.warmUp();
    await stack.stow(`${latencyMs} ms: workload`, workload);
    progress(`${latencyMs} ms: ours: syncing ${workload.specs.length} instances (LocalFunctionsHost.runOnce)`);
    const ours = await syncRow(stack, `ours at ${latencyMs} ms`, workload.specs);
    progress(`${latencyMs} ms: straight into FHIR: one transaction per study, 8 in parallel, no reads`);
    const straight = await straightRow(stack, `straight into FHIR at ${latencyMs} ms`, workload.specs);
    const { wallClock, perCpuSecond } = limitRatios(figuresOf(ours), figuresOf(straight));
    return {
      latencyMs,
      ours,
      straight,
      ratio: wallClock,
      cpuRatio: perCpuSecond,
      fhirPerStudy: ours.measured.counts.fhirRequests / ours.studies,
      errors: [...stack.logs.firstErrors],
    };
  } finally {
    await stack.close();
  }
}

/** Starts and stops its own stacks: run it while no other BenchStack is alive (a host sets process.env). */
export async function runLatencySweep(options: LatencySweepOptions): Promise<Section> {
  const specs = makeSampleStudies({
    studies: options.studies,
    seriesPerStudy: options.series,
    instancesPerSeries: options.instances,
    seed: options.seed,
  });
  // The same files for every latency, made once, before any clock starts.
  const workload = generateFiles(specs);
  progress(
    `latency sweep: ${specs.length} Part-10 files made in ${(workload.generateMs / 1000).toFixed(1)} s (not timed)`,
  );
  const rows: LatencyRow[] = [];
  for (const latencyMs of options.latencies) rows.push(await measureAtLatency(latencyMs, workload, options.profileDir));

  const seconds = (row: Row) => fixed(row.measured.ms / 1000, 2);
  const lines = [
    'Each latency: a fresh server process whose FHIR server waits that long on every storage read, write and search ' +
      '(writes one at a time, reads together), Azurite, a warm-up; the workload through the sync, then the resources ' +
      'it wrote straight into the same server (one transaction per study, 8 in parallel, no reads).',
    table(
      [
        'FHIR storage latency ms',
        'Ours s',
        'Straight s',
        'Ratio wall-clock',
        'Ratio per CPU s',
        'FHIR req/study (ours)',
      ],
      rows.map((row) => [
        String(row.latencyMs),
        seconds(row.ours),
        seconds(row.straight),
        fixed(row.ratio, 2),
        fixed(row.cpuRatio, 2),
        fixed(row.fhirPerStudy, 2),
      ]),
    ),
    '',
    `Conflict retries (ours): ${rows.map((row) => `${row.latencyMs} ms: ${row.ours.measured.value.conflictRetries}`).join(', ')}`,
    ...rows.flatMap((row) => row.errors.map((error) => `Function error logged at ${row.latencyMs} ms: ${error}`)),
  ];
  const checked = rowAtLatency(rows, CHECKED_LATENCY_MS);
  const checks: Check[] = [
    ...(checked
      ? [
          atLeast(
            `Throughput / straight into FHIR at ${CHECKED_LATENCY_MS} ms FHIR storage latency`,
            checked.ratio,
            RATIO_TARGET,
            2,
          ),
        ]
      : []),
    ...rows.flatMap((row) => [completenessCheck(row.ours), completenessCheck(row.straight)]),
  ];
  return {
    title: `FHIR storage latency sweep: ${options.studies} studies x ${options.series} series x ${options.instances} instances = ${specs.length} instances, ours / straight into FHIR`,
    lines,
    checks,
    data: {
      rows: rows.map((row) => ({
        latencyMs: row.latencyMs,
        oursSeconds: row.ours.measured.ms / 1000,
        straightSeconds: row.straight.measured.ms / 1000,
        ratio: row.ratio,
        cpuRatio: row.cpuRatio,
        fhirPerStudy: row.fhirPerStudy,
        ours: row.ours,
        straight: row.straight,
        errors: row.errors,
      })),
    },
  };
}
