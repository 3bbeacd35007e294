#!/usr/bin/env node
/**
 * `npm run bench`: the sync measured the way a user runs it (the local Functions host of `npm run local`, in this
 * process) against the DICOM service stand-in and the FHIR server in a separate process, and Azurite. Scenarios:
 * throughput against the physical limit (the same resources written straight into FHIR), requests per study,
 * memory, linearity, one large study arriving over many polls, many studies, start-up, and throughput against
 * FHIR servers of several storage latencies (a fresh server process each). A benchmark, not a test: it exits 0
 * once it has run, and prints failed targets loudly.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadAppConfig } from '../shared/config/appConfig.js';
import { errorMessage } from '../shared/lib/errorDetails.js';
import { mappingOptionsOf } from '../shared/runtime/runtime.js';
import { BenchStack, progress } from './harness.js';
import { formatSections, type Section } from './report.js';
import { parseLatencySweep } from './latencySweep.js';
import { runLargeStudy } from './scenarios/largeStudy.js';
import { runLatencySweep } from './scenarios/latency.js';
import { runLinearity } from './scenarios/linearity.js';
import { runManyStudies } from './scenarios/manyStudies.js';
import { runStartup } from './scenarios/startup.js';
import { runThroughput } from './scenarios/throughput.js';

const scenarioNames = ['throughput', 'linearity', 'large', 'many', 'startup', 'latency'] as const;
type ScenarioName = (typeof scenarioNames)[number];

const usage = `Usage: npm run bench -- [options]
  --scenarios A,B           which to run (default all): ${scenarioNames.join(', ')}
  --studies N               studies in the throughput workload (default 50)
  --series N                series per study (default 4)
  --instances N             instances per series (default 25)
  --baseline-instances N    instances the DICOM Cast algorithm processes (default 500; it is slow)
  --baseline-page N         change-feed page size of the DICOM Cast algorithm (default 10)
  --linearity-sizes A,B     study sizes of the linearity check (default 500,2000)
  --linearity-series N      series per linearity study (default 1)
  --large-batches N         large study: polls, one batch stored before each (default 20)
  --large-batch-size N      large study: instances per batch (default 1000)
  --large-series N          large study: series (default 40)
  --many-studies N          many studies: studies (default 500, 2 series x 10 instances each)
  --backlog-sizes A,B       many studies: change-feed backlogs the poller is timed over (default 10000,100000)
  --seed N                  workload seed (default 1)
  --fhir-latency-ms N       the FHIR server's simulated storage latency per read, write and search (default 0;
                            not the latency scenario's)
  --latency-sweep A,B       latency scenario: FHIR storage latencies in ms, a fresh server each (default 0,2,5,10)
  --cpu-prof-dir DIR        write a CPU profile of each measured phase (sync and servers) there
  --json                    print the results as JSON (progress still goes to stderr)
  --help`;

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: scenarioNames.join(',') },
    studies: { type: 'string', default: '50' },
    series: { type: 'string', default: '4' },
    instances: { type: 'string', default: '25' },
    'baseline-instances': { type: 'string', default: '500' },
    'baseline-page': { type: 'string', default: '10' },
    'linearity-sizes': { type: 'string', default: '500,2000' },
    'linearity-series': { type: 'string', default: '1' },
    'large-batches': { type: 'string', default: '20' },
    'large-batch-size': { type: 'string', default: '1000' },
    'large-series': { type: 'string', default: '40' },
    'many-studies': { type: 'string', default: '500' },
    'backlog-sizes': { type: 'string', default: '10000,100000' },
    seed: { type: 'string', default: '1' },
    'fhir-latency-ms': { type: 'string', default: '0' },
    'latency-sweep': { type: 'string', default: '0,2,5,10' },
    'cpu-prof-dir': { type: 'string' },
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

const scenarios = new Set(values.scenarios.split(',').map((name) => name.trim()));
for (const name of scenarios) {
  if (!scenarioNames.includes(name as ScenarioName)) {
    console.error(`--scenarios: unknown scenario "${name}" (known: ${scenarioNames.join(', ')})`);
    process.exit(2);
  }
}
const linearitySizes = values['linearity-sizes'].split(',').map((size) => positiveInt('linearity-sizes', size.trim()));
if (linearitySizes.length !== 2) {
  console.error('--linearity-sizes takes two sizes, e.g. 500,2000');
  process.exit(2);
}
const seed = positiveInt('seed', values.seed);
let latencySweep: number[];
try {
  latencySweep = parseLatencySweep(values['latency-sweep']);
} catch (error) {
  console.error(errorMessage(error));
  process.exit(2);
}
const workloadShape = () => ({
  studies: positiveInt('studies', values.studies),
  series: positiveInt('series', values.series),
  instances: positiveInt('instances', values.instances),
  seed,
});

async function runAll(stack: BenchStack): Promise<Section[]> {
  const mapping = mappingOptionsOf(loadAppConfig(stack.settings));
  await stack.warmUp();

  const sections: Section[] = [];
  const has = (name: ScenarioName) => scenarios.has(name);
  if (has('throughput')) {
    sections.push(
      await runThroughput(stack, mapping, {
        ...workloadShape(),
        baselineInstances: positiveInt('baseline-instances', values['baseline-instances']),
        baselinePage: positiveInt('baseline-page', values['baseline-page']),
      }),
    );
  }
  if (has('linearity')) {
    const sizes = linearitySizes as [number, number];
    sections.push(await runLinearity(stack, sizes, positiveInt('linearity-series', values['linearity-series']), seed));
  }
  if (has('large')) {
    sections.push(
      await runLargeStudy(stack, {
        batches: positiveInt('large-batches', values['large-batches']),
        batchSize: positiveInt('large-batch-size', values['large-batch-size']),
        series: positiveInt('large-series', values['large-series']),
        seed,
      }),
    );
  }
  if (has('startup')) sections.push(await runStartup(stack));
  // Last: the poller-alone part builds runtimes of its own.
  if (has('many')) {
    sections.push(
      await runManyStudies(stack, {
        studies: positiveInt('many-studies', values['many-studies']),
        seed,
        backlogSizes: values['backlog-sizes'].split(',').map((size) => positiveInt('backlog-sizes', size.trim())),
      }),
    );
  }
  return sections;
}

function header(): string[] {
  return [
    `dicom-cast-functions bench — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ` +
      `${os.platform()} ${os.arch()}, load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}` +
      (typeof (globalThis as { gc?: unknown }).gc === 'function' ? '' : ' — WARNING: run with --expose-gc'),
    'The sync runs in this process (LocalFunctionsHost: the poller, the queue triggers, 16 writers per host.json), ' +
      'as `npm run local` runs it; the DICOM service stand-in and the FHIR server run in a second process, Azurite in a third. ' +
      '"Sync" memory is this process, "servers" the second. Part-10 files are made and stored before any clock starts; ' +
      'times are wall-clock on a shared machine.',
    ...(values['fhir-latency-ms'] !== '0'
      ? [
          `The FHIR server waits ${values['fhir-latency-ms']} ms on every storage read, write and search (--fhir-latency-ms).`,
        ]
      : []),
  ];
}

let stack: BenchStack | undefined;
try {
  const sections: Section[] = [];
  // The latency scenario starts a stack per latency; the others share one, closed first (one host at a time).
  if ([...scenarios].some((name) => name !== 'latency')) {
    progress('starting the servers (own process) and Azurite');
    const latency = values['fhir-latency-ms'];
    stack = await BenchStack.start(latency === '0' ? 0 : positiveInt('fhir-latency-ms', latency));
    stack.profileDir = values['cpu-prof-dir'];
    sections.push(...(await runAll(stack)));
    if (stack.logs.firstErrors.length > 0) {
      sections.push({
        title: 'Function errors logged (first ones)',
        lines: stack.logs.firstErrors,
        checks: [],
        data: {},
      });
    }
    await stack.close();
    stack = undefined;
  }
  if (scenarios.has('latency')) {
    sections.push(
      await runLatencySweep({ ...workloadShape(), latencies: latencySweep, profileDir: values['cpu-prof-dir'] }),
    );
  }
  console.log(
    values.json ? JSON.stringify({ header: header(), sections }, null, 2) : formatSections(header(), sections),
  );
  const failed = sections.flatMap((section) => section.checks).filter((check) => !check.pass).length;
  if (failed > 0) progress(`${failed} target(s) FAILED (a benchmark: exit code 0 all the same)`);
  process.exit(0);
} catch (error) {
  console.error('The bench could not run:', error);
  await stack?.close().catch(() => undefined);
  process.exit(1);
}
