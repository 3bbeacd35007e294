#!/usr/bin/env node
/**
 * `npm run bench`: throughput and request cost of the sync on the local stack (Azurite, the DICOM service
 * stand-in, the FHIR server), against a baseline that works the way DICOM Cast does, plus a linearity check on
 * one big study. A benchmark, not a test: it always exits 0 once it has run, and prints failed targets loudly.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { LocalFunctionsHost } from '../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../dev/localStack.js';
import { makeSampleStudies, type InstanceSpec } from '../dev/samples/index.js';
import { loadAppConfig } from '../shared/config/appConfig.js';
import { mappingOptionsOf } from '../shared/runtime/runtime.js';
import { runDicomCastBaseline, type BaselineResult } from './baselineDicomCast.js';
import { collectGarbage, MemorySampler, type MemoryPeak } from './memorySampler.js';
import {
  checkFhirComplete,
  generateFiles,
  latestSequence,
  stowFiles,
  type Completeness,
  type Part10Workload,
} from './workload.js';

const usage = `Usage: npm run bench -- [options]
  --studies N               studies in the workload (default 50)
  --series N                series per study (default 4)
  --instances N             instances per series (default 25)
  --baseline-instances N    instances the DICOM Cast baseline processes (default 500; it is slow)
  --baseline-page N         change-feed page size of the baseline (default 10; entries still go one by one)
  --linearity-sizes A,B     study sizes of the linearity check (default 500,2000)
  --linearity-series N      series per linearity study (default 1)
  --no-linearity            skip the linearity check
  --seed N                  workload seed (default 1)
  --json                    print the results as JSON (progress still goes to stderr)
  --help`;

const { values } = parseArgs({
  allowNegative: true,
  options: {
    studies: { type: 'string', default: '50' },
    series: { type: 'string', default: '4' },
    instances: { type: 'string', default: '25' },
    'baseline-instances': { type: 'string', default: '500' },
    'baseline-page': { type: 'string', default: '10' },
    'linearity-sizes': { type: 'string', default: '500,2000' },
    'linearity-series': { type: 'string', default: '1' },
    linearity: { type: 'boolean', default: true },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a whole number of at least 1, got "${text}"`);
    process.exit(2);
  }
  return value;
}

const options = {
  studies: positiveInt('studies', values.studies),
  series: positiveInt('series', values.series),
  instances: positiveInt('instances', values.instances),
  baselineInstances: positiveInt('baseline-instances', values['baseline-instances']),
  baselinePage: positiveInt('baseline-page', values['baseline-page']),
  linearity: values.linearity,
  linearitySizes: values['linearity-sizes'].split(',').map((size) => positiveInt('linearity-sizes', size.trim())),
  linearitySeries: positiveInt('linearity-series', values['linearity-series']),
  seed: positiveInt('seed', values.seed),
  json: values.json,
};
if (options.linearity && options.linearitySizes.length !== 2) {
  console.error('--linearity-sizes takes two sizes, e.g. 500,2000');
  process.exit(2);
}

const FHIR_PER_INSTANCE_TARGET = 0.05;
const SPEEDUP_TARGET = 10;
/** Linear work gives a time ratio equal to the size ratio; quadratic work its square. */
const LINEARITY_SLACK = 1.5;

const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`);

// ---------------------------------------------------------------------------------------------------------------

interface Measured<T> {
  value: T;
  ms: number;
  memory: MemoryPeak;
  fhirRequests: number;
  fhirByInteraction: Record<string, number>;
  dicomRequests: number;
}

interface RunningStack extends LocalStack {
  dicom: NonNullable<LocalStack['dicom']>;
  fhir: NonNullable<LocalStack['fhir']>;
}

/** Counters reset, a full GC, memory sampled every 50 ms, the clock around `run` only. */
async function measure<T>(stack: RunningStack, run: () => Promise<T>): Promise<Measured<T>> {
  stack.fhir.resetRequestCount();
  stack.dicom.resetRequestCount();
  collectGarbage();
  const sampler = new MemorySampler(50);
  const started = performance.now();
  let value: T;
  let ms: number;
  let memory: MemoryPeak;
  try {
    value = await run();
  } finally {
    ms = performance.now() - started;
    memory = sampler.stop();
  }
  return {
    value,
    ms,
    memory,
    fhirRequests: stack.fhir.requestCount(),
    fhirByInteraction: stack.fhir.requestCounts(),
    dicomRequests: stack.dicom.requestCount(),
  };
}

interface PhaseFigures {
  instances: number;
  seconds: number;
  instancesPerSecond: number;
  fhirRequests: number;
  fhirPerInstance: number;
  fhirByInteraction: Record<string, number>;
  dicomRequests: number;
  dicomPerInstance: number;
  memory: MemoryPeak;
  completeness: Completeness;
}

function figures(measured: Measured<unknown>, instances: number, completeness: Completeness): PhaseFigures {
  const seconds = measured.ms / 1000;
  return {
    instances,
    seconds,
    instancesPerSecond: instances / seconds,
    fhirRequests: measured.fhirRequests,
    fhirPerInstance: measured.fhirRequests / instances,
    fhirByInteraction: measured.fhirByInteraction,
    dicomRequests: measured.dicomRequests,
    dicomPerInstance: measured.dicomRequests / instances,
    memory: measured.memory,
    completeness,
  };
}

/** What the functions logged, counted: conflicts retried, warnings, errors. */
class HostLogCounter {
  conflicts = 0;
  warnings = 0;
  errors = 0;
  readonly firstErrors: string[] = [];
  readonly log = (level: string, functionName: string, ...args: unknown[]) => {
    const text = args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ');
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

interface HostActivity {
  writerInvocations: number;
  writerFailures: number;
  conflictRetries: number;
  warnings: number;
  errors: number;
}

/** Runs `runOnce` and reports what the writer did meanwhile (invocations = queue messages, parts included). */
async function syncThroughHost(host: LocalFunctionsHost, logs: HostLogCounter): Promise<HostActivity> {
  const before = { ...host.writer.stats, ...logs.snapshot() };
  await host.runOnce();
  const after = { ...host.writer.stats, ...logs.snapshot() };
  return {
    writerInvocations: after.invocations - before.invocations,
    writerFailures: after.failed - before.failed,
    conflictRetries: after.conflicts - before.conflicts,
    warnings: after.warnings - before.warnings,
    errors: after.errors - before.errors,
  };
}

async function prepare(stack: RunningStack, label: string, specs: InstanceSpec[]): Promise<Part10Workload> {
  const workload = generateFiles(specs);
  const stowMs = await stowFiles(stack.dicomUrl, workload.files);
  progress(
    `${label}: ${specs.length} Part-10 files made in ${(workload.generateMs / 1000).toFixed(1)} s, ` +
      `stored with STOW-RS in ${(stowMs / 1000).toFixed(1)} s (neither is timed)`,
  );
  return workload;
}

// ---------------------------------------------------------------------------------------------------------------

interface LinearityRow {
  size: number;
  series: number;
  seconds: number;
  msPerInstance: number;
  fhirRequests: number;
  fhirPerInstance: number;
  fhirByInteraction: Record<string, number>;
  dicomRequests: number;
  memory: MemoryPeak;
  activity: HostActivity;
  completeness: Completeness;
}

interface Check {
  name: string;
  target: string;
  actual: string;
  pass: boolean;
}

interface Report {
  environment: { node: string; cpus: number; cpuModel: string; platform: string; gcExposed: boolean };
  workload: { studies: number; seriesPerStudy: number; instancesPerSeries: number; instances: number; seed: number };
  ours: PhaseFigures & { activity: HostActivity };
  baseline: PhaseFigures & { run: BaselineResult; pageSize: number; subsetOf: number };
  speedup: number;
  linearity?: { rows: LinearityRow[]; timeRatio: number; perInstanceRatio: number; sizeRatio: number };
  checks: Check[];
  notes: string[];
}

async function main(): Promise<Report> {
  progress('starting Azurite, the DICOM service stand-in and the FHIR server');
  const started = await startLocalStack({ settings: { DicomCast__Schedule: '0 0 0 1 1 *' } });
  if (!started.dicom || !started.fhir) throw new Error('the bench needs the embedded DICOM and FHIR servers');
  const stack: RunningStack = { ...started, dicom: started.dicom, fhir: started.fhir };
  try {
    return await runAll(stack);
  } finally {
    await stack.close();
  }
}

async function runAll(stack: RunningStack): Promise<Report> {
  const logs = new HostLogCounter();
  const host = new LocalFunctionsHost({ settings: stack.settings, log: logs.log });
  const mapping = mappingOptionsOf(loadAppConfig(stack.settings));

  // Warm-up (not measured): a small study through the whole pipeline, so neither side pays for first-use costs
  // (JIT, the runtime's tables and queues, the FHIR server's validator).
  await prepare(
    stack,
    'warm-up',
    makeSampleStudies({ studies: 1, seriesPerStudy: 2, instancesPerSeries: 5, seed: 999_999 }),
  );
  await host.runOnce();
  await stack.fhir.reset();

  // 1. Ours, end to end: poller (change feed → queue) and writers (queue → FHIR) until the queue is drained.
  const specs = makeSampleStudies({
    studies: options.studies,
    seriesPerStudy: options.series,
    instancesPerSeries: options.instances,
    seed: options.seed,
  });
  const afterSequence = await latestSequence(stack.dicomUrl);
  // The files are on the DICOM server once stored: nothing keeps them, so they are gone before memory is measured.
  await prepare(stack, 'workload', specs);
  progress(`ours: syncing ${specs.length} instances (LocalFunctionsHost.runOnce from the checkpoint)`);
  const oursRun = await measure(stack, () => syncThroughHost(host, logs));
  const oursComplete = await checkFhirComplete(stack.fhir, specs);
  const ours = { ...figures(oursRun, specs.length, oursComplete), activity: oursRun.value };
  progress(`ours: ${ours.seconds.toFixed(2)} s, ${ours.instancesPerSecond.toFixed(1)} instances/s`);

  // 2. The DICOM Cast baseline on an empty FHIR server, over the first instances of the same change feed.
  await stack.fhir.reset();
  const baselineCount = Math.min(options.baselineInstances, specs.length);
  progress(`baseline: DICOM Cast's algorithm over the first ${baselineCount} instances, one at a time`);
  const baselineRun = await measure(stack, () =>
    runDicomCastBaseline({
      dicomUrl: stack.dicomUrl,
      fhirUrl: stack.fhirUrl,
      mapping,
      afterSequence,
      maxEntries: baselineCount,
      pageSize: options.baselinePage,
    }),
  );
  const processed = baselineRun.value.entries;
  // Change-feed order is STOW order, which is the order of `specs`.
  const baselineComplete = await checkFhirComplete(stack.fhir, specs.slice(0, processed));
  const baseline = {
    ...figures(baselineRun, processed, baselineComplete),
    run: baselineRun.value,
    pageSize: options.baselinePage,
    subsetOf: specs.length,
  };
  progress(`baseline: ${baseline.seconds.toFixed(2)} s, ${baseline.instancesPerSecond.toFixed(1)} instances/s`);
  const speedup = ours.instancesPerSecond / baseline.instancesPerSecond;

  // 3. Linearity: one study of each size, each on an empty FHIR server.
  let linearity: Report['linearity'];
  if (options.linearity) {
    const rows: LinearityRow[] = [];
    for (const size of options.linearitySizes) {
      const series = Math.min(options.linearitySeries, size);
      const studySpecs = makeSampleStudies({
        studies: 1,
        seriesPerStudy: series,
        instancesPerSeries: Math.ceil(size / series),
        seed: options.seed * 100_000 + size,
      }).slice(0, size);
      await prepare(stack, `linearity ${size}`, studySpecs);
      await stack.fhir.reset();
      progress(`linearity: syncing one study of ${size} instances in ${series} series`);
      const run = await measure(stack, () => syncThroughHost(host, logs));
      const completeness = await checkFhirComplete(stack.fhir, studySpecs);
      const seconds = run.ms / 1000;
      rows.push({
        size,
        series,
        seconds,
        msPerInstance: run.ms / size,
        fhirRequests: run.fhirRequests,
        fhirPerInstance: run.fhirRequests / size,
        fhirByInteraction: run.fhirByInteraction,
        dicomRequests: run.dicomRequests,
        memory: run.memory,
        activity: run.value,
        completeness,
      });
      progress(`linearity ${size}: ${seconds.toFixed(2)} s`);
    }
    const [small, big] = rows as [LinearityRow, LinearityRow];
    linearity = {
      rows,
      timeRatio: big.seconds / small.seconds,
      perInstanceRatio: big.msPerInstance / small.msPerInstance,
      sizeRatio: big.size / small.size,
    };
  }

  const checks: Check[] = [
    {
      name: 'FHIR requests per instance (ours)',
      target: `<= ${FHIR_PER_INSTANCE_TARGET}`,
      actual: ours.fhirPerInstance.toFixed(4),
      pass: ours.fhirPerInstance <= FHIR_PER_INSTANCE_TARGET,
    },
    {
      name: 'Throughput vs DICOM Cast baseline',
      target: `>= ${SPEEDUP_TARGET}x`,
      actual: `${speedup.toFixed(1)}x`,
      pass: speedup >= SPEEDUP_TARGET,
    },
  ];
  if (linearity) {
    const [small, big] = linearity.rows as [LinearityRow, LinearityRow];
    const limit = LINEARITY_SLACK * linearity.sizeRatio;
    checks.push(
      {
        name: `Linear in study size: time(${big.size}) / time(${small.size})`,
        target: `< ${limit} (linear ~${linearity.sizeRatio}, quadratic ~${linearity.sizeRatio ** 2})`,
        actual: linearity.timeRatio.toFixed(2),
        pass: linearity.timeRatio < limit,
      },
      {
        name: `FHIR requests per instance (${big.size}-instance study)`,
        target: `<= ${FHIR_PER_INSTANCE_TARGET}`,
        actual: big.fhirPerInstance.toFixed(4),
        pass: big.fhirPerInstance <= FHIR_PER_INSTANCE_TARGET,
      },
    );
  }
  const completenessChecks: [string, Completeness][] = [
    ['ours', ours.completeness],
    ['baseline', baseline.completeness],
    ...(linearity?.rows.map((row): [string, Completeness] => [`linearity ${row.size}`, row.completeness]) ?? []),
  ];
  for (const [label, completeness] of completenessChecks) {
    checks.push({
      name: `FHIR complete after sync (${label})`,
      target: `${completeness.expectedInstances} instances in ${completeness.expectedStudies} studies`,
      actual: `${completeness.foundInstances} found${completeness.complete ? '' : `; ${completeness.problems.join('; ')}`}`,
      pass: completeness.complete,
    });
  }

  const notes = [
    'The DICOM and FHIR servers run in this process: peak memory deltas are upper bounds of the sync code alone ' +
      '(Azurite is a separate process and is not counted).',
    `The baseline runs on the first ${processed} of the ${specs.length} instances (--baseline-instances); ` +
      'its per-instance figures and its throughput are computed on that subset.',
    'Part-10 files are generated and stored with STOW-RS before any clock starts; a warm-up study is synced first.',
    'Times are wall-clock on a shared machine: expect run-to-run variation.',
  ];
  if (logs.firstErrors.length > 0) notes.push(`Function errors logged (first ones): ${logs.firstErrors.join(' | ')}`);

  return {
    environment: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      platform: `${os.platform()} ${os.arch()}`,
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    },
    workload: {
      studies: options.studies,
      seriesPerStudy: options.series,
      instancesPerSeries: options.instances,
      instances: specs.length,
      seed: options.seed,
    },
    ours,
    baseline,
    speedup,
    ...(linearity ? { linearity } : {}),
    checks,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------------------------

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const interactions = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ') || 'none';

function formatReport(report: Report): string {
  const { ours, baseline, linearity, workload } = report;
  const out: string[] = [];
  out.push(
    `dicom-cast-functions bench — node ${report.environment.node}, ${report.environment.cpus} CPUs ` +
      `(${report.environment.cpuModel}), ${report.environment.platform}` +
      (report.environment.gcExposed ? '' : ' — WARNING: run with --expose-gc for comparable memory figures'),
  );
  out.push(
    `Workload: ${workload.studies} studies x ${workload.seriesPerStudy} series x ${workload.instancesPerSeries} ` +
      `instances = ${workload.instances} instances (seed ${workload.seed})`,
  );
  out.push('');
  const phaseRow = (name: string, phase: PhaseFigures): string[] => [
    name,
    String(phase.instances),
    fixed(phase.seconds, 2),
    fixed(phase.instancesPerSecond, 1),
    String(phase.fhirRequests),
    fixed(phase.fhirPerInstance, 4),
    String(phase.dicomRequests),
    fixed(phase.dicomPerInstance, 4),
    fixed(phase.memory.rssPeakDeltaMb, 1),
    fixed(phase.memory.heapUsedPeakDeltaMb, 1),
  ];
  out.push(
    table(
      [
        'Run',
        'Instances',
        'Seconds',
        'Inst/s',
        'FHIR req',
        'FHIR/inst',
        'DICOM req',
        'DICOM/inst',
        'Peak dRSS MB',
        'Peak dHeap MB',
      ],
      [
        phaseRow('ours (poller+queue+writer)', ours),
        phaseRow(`baseline DICOM Cast (${baseline.instances} of ${baseline.subsetOf})`, baseline),
      ],
    ),
  );
  out.push('');
  out.push(`Speedup (instances/s, ours / baseline): ${fixed(report.speedup, 1)}x`);
  out.push(`FHIR requests, ours:     ${interactions(ours.fhirByInteraction)}`);
  out.push(`FHIR requests, baseline: ${interactions(baseline.fhirByInteraction)}`);
  out.push(
    `Ours: ${ours.activity.writerInvocations} writer invocations, ${ours.activity.conflictRetries} conflict retries, ` +
      `${ours.activity.writerFailures} failed invocations, ${ours.activity.warnings} warnings, ${ours.activity.errors} errors`,
  );
  out.push(
    `Baseline: change feed v1, includeMetadata=true, page of ${baseline.pageSize}, entries processed one at a time; ` +
      `${baseline.run.transactions} transactions, ${baseline.run.skipped} skipped, ${baseline.run.conflicts} conflicts`,
  );
  out.push(
    `Peak memory (absolute): ours RSS ${fixed(ours.memory.rssPeakMb, 0)} MB / heapUsed ${fixed(ours.memory.heapUsedPeakMb, 0)} MB; ` +
      `baseline RSS ${fixed(baseline.memory.rssPeakMb, 0)} MB / heapUsed ${fixed(baseline.memory.heapUsedPeakMb, 0)} MB`,
  );

  if (linearity) {
    out.push('');
    out.push('Linearity (one study each, empty FHIR server):');
    out.push(
      table(
        [
          'Study size',
          'Series',
          'Seconds',
          'ms/inst',
          'FHIR req',
          'FHIR/inst',
          'DICOM req',
          'Writer runs',
          'Conflicts',
          'Peak dRSS MB',
          'Peak dHeap MB',
        ],
        linearity.rows.map((row) => [
          String(row.size),
          String(row.series),
          fixed(row.seconds, 2),
          fixed(row.msPerInstance, 3),
          String(row.fhirRequests),
          fixed(row.fhirPerInstance, 4),
          String(row.dicomRequests),
          String(row.activity.writerInvocations),
          String(row.activity.conflictRetries),
          fixed(row.memory.rssPeakDeltaMb, 1),
          fixed(row.memory.heapUsedPeakDeltaMb, 1),
        ]),
      ),
    );
    out.push(
      `Time ratio ${fixed(linearity.timeRatio, 2)} for a size ratio of ${linearity.sizeRatio} ` +
        `(linear ~${linearity.sizeRatio}, quadratic ~${linearity.sizeRatio ** 2}); per-instance time ratio ${fixed(linearity.perInstanceRatio, 2)}`,
    );
    for (const row of linearity.rows) out.push(`FHIR requests, ${row.size}: ${interactions(row.fhirByInteraction)}`);
    out.push(
      'Writer runs = study queue messages handled: one per study per poll (a study with more changes than one ' +
        '64 KB message holds keeps its newest; the writer reconciles the whole study from DICOM either way).',
    );
  }

  out.push('');
  out.push('Targets:');
  for (const check of report.checks) {
    out.push(`  ${check.pass ? 'PASS' : '*** FAIL ***'}  ${check.name}: ${check.actual} (target ${check.target})`);
  }
  const failed = report.checks.filter((check) => !check.pass);
  out.push('');
  if (failed.length === 0) out.push(`All ${report.checks.length} targets met.`);
  else {
    const banner = '!'.repeat(100);
    out.push(banner);
    out.push(`!!! ${failed.length} of ${report.checks.length} targets FAILED: ${failed.map((c) => c.name).join('; ')}`);
    out.push(banner);
  }
  out.push('');
  out.push('Notes:');
  for (const note of report.notes) out.push(`  - ${note}`);
  return out.join('\n');
}

try {
  const report = await main();
  console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  const failed = report.checks.filter((check) => !check.pass).length;
  if (failed > 0) progress(`${failed} target(s) FAILED (a benchmark: exit code 0 all the same)`);
  process.exit(0);
} catch (error) {
  console.error('The bench could not run:', error);
  process.exit(1);
}
