// Start-up: a cold Functions worker's time to its first change-feed request, and `npm run local -- --once` on an
// empty feed when nothing needs building.
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { progress, type BenchStack } from '../harness.js';
import { atMost, fixed, table, type Section } from '../report.js';

const COLD_WORKER_TARGET_MS = 1500;
const LOCAL_ONCE_TARGET_MS = 3000;
const RUNS = 3;

/** A DICOM endpoint with an empty v2 change feed that notes when the first change-feed request arrived. */
async function emptyFeed(): Promise<{
  url: string;
  firstRequestAt: () => number | undefined;
  close: () => Promise<void>;
}> {
  let first: number | undefined;
  const server = createServer((request, response) => {
    if ((request.url ?? '').includes('/changefeed')) first ??= Date.now();
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(request.url?.includes('/latest') ? '{}' : '[]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    firstRequestAt: () => first,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface ColdRun {
  firstRequestMs: number;
  importMs: number;
  /** The worker's CPU time until it reported (after its first poll). */
  cpuMs: number;
}

async function coldWorker(storage: string): Promise<ColdRun> {
  const feed = await emptyFeed();
  try {
    const script = fileURLToPath(new URL('../coldWorker.js', import.meta.url));
    const spawned = Date.now();
    const child = fork(script, [], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '',
        AzureWebJobsStorage: storage,
        DicomWeb__Endpoint: feed.url,
        Fhir__Endpoint: 'http://127.0.0.1:9/fhir',
        DicomCast__Schedule: '0 */5 * * * *',
      },
    });
    const report = await new Promise<{ importMs: number; cpuMs: number }>((resolve, reject) => {
      child.once('message', (message: { importMs: number; cpuMs: number }) => resolve(message));
      child.once('exit', (code) => reject(new Error(`the cold worker exited (${code}) before it reported`)));
    });
    child.kill();
    const first = feed.firstRequestAt();
    if (first === undefined) throw new Error('the cold worker never read the change feed');
    return { firstRequestMs: first - spawned, importMs: report.importMs, cpuMs: report.cpuMs };
  } finally {
    await feed.close();
  }
}

/** `npm run local -- --once --studies 0`, the build check included; resolves to its wall time. */
function localOnce(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Not the settings the bench's own host put in this process's environment: `npm run local` reads those.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !/^(AzureWebJobs|DicomWeb|Fhir|Patient|DicomCast|KeyVault)/i.test(key),
      ),
    );
    const child = spawn('npm', ['run', 'local', '--', '--once', '--studies', '0'], { stdio: 'ignore', env });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`npm run local exited ${code}`)),
    );
  });
}

export async function runStartup(stack: BenchStack): Promise<Section> {
  const cold: ColdRun[] = [];
  const local: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    progress(`start-up run ${run + 1}/${RUNS}`);
    cold.push(await coldWorker(stack.azurite.connectionString));
    local.push(await localOnce());
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  const coldMedian = median(cold.map((run) => run.firstRequestMs));
  const localMedian = median(local);
  return {
    title: `Start-up (${RUNS} runs each, median checked)`,
    lines: [
      table(
        [
          'Run',
          'Cold worker: first change-feed request ms',
          'of which importing functions/* ms',
          'worker CPU ms (to after its poll)',
          'npm run local -- --once --studies 0 ms',
        ],
        cold.map((run, index) => [
          String(index + 1),
          fixed(run.firstRequestMs, 0),
          fixed(run.importMs, 0),
          fixed(run.cpuMs, 0),
          fixed(local[index] ?? NaN, 0),
        ]),
      ),
      'Cold worker: a new node process imports the five function modules, builds the runtime (settings, clients, ' +
        'Azurite tables) and runs the poller; timed from spawn to the first change-feed request the server sees.',
      `Load average at the end: ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')} on ${os.cpus().length} CPUs: ` +
        'with more runnable processes than cores, wall times measure waiting; the worker CPU time does not.',
      '`npm run local` runs `tsc -b` first (up to date: no compile) and starts Azurite, the DICOM stand-in and the FHIR server.',
    ],
    checks: [
      atMost('Cold worker: first change-feed request (median)', coldMedian, COLD_WORKER_TARGET_MS, 0, ' ms'),
      atMost(
        'npm run local -- --once on an empty feed, no build needed (median)',
        localMedian,
        LOCAL_ONCE_TARGET_MS,
        0,
        ' ms',
      ),
    ],
    data: { cold, local },
  };
}
