// Many small studies: rounds of 100 studies (2 series x 10 instances) through the poller and the 16 writers,
// one poll a round, on a FHIR server that fills up round by round; then the poller alone over change-feed
// backlogs of growing size, to show its cost per entry stays flat.
import { startAzurite } from '../../dev/azurite.js';
import { makeSampleStudies } from '../../dev/samples/index.js';
import { createRuntime } from '../../shared/runtime/runtime.js';
import { runPoll } from '../../shared/handlers/pollHandler.js';
import { noopTelemetry } from '../../shared/telemetry/telemetry.js';
import { startBacklogFeed } from '../../test/support/backlogFeed.js';
import { progress, type BenchStack } from '../harness.js';
import { atLeast, atMost, fixed, table, type Section } from '../report.js';
import { checkFhirComplete } from '../workload.js';

export interface ManyStudiesOptions {
  studies: number;
  seed: number;
  /** Change-feed backlog sizes the poller is timed over (entries). */
  backlogSizes: number[];
}

const ROUND = 100;

interface Round {
  studies: number;
  instances: number;
  ms: number;
  fhirRequests: number;
  rssPeakMb: number;
}

interface BacklogRun {
  rows: number;
  ms: number;
  messages: number;
}
/** The last round's rate must be at least this share of the first's. */
const RATE_TARGET = 0.8;
/** Poller cost per entry at the largest backlog over the smallest. */
const POLLER_FLATNESS_TARGET = 1.5;

async function pollerCostPerEntry(rows: number): Promise<BacklogRun> {
  const [azurite, feed] = await Promise.all([
    startAzurite(),
    startBacklogFeed({ rows, studies: Math.ceil(rows / 100) }),
  ]);
  try {
    const runtime = await createRuntime(
      {
        AzureWebJobsStorage: azurite.connectionString,
        DicomWeb__Endpoint: feed.url,
        Fhir__Endpoint: 'http://127.0.0.1:9/fhir',
        DicomWeb__ChangeFeed__PageSize: '200',
        DicomCast__MaxPollSeconds: '3600',
        DicomCast__Schedule: '0 0 0 1 1 *',
      },
      { telemetry: noopTelemetry },
    );
    await Promise.all([
      runtime.queueClients.studies.createIfNotExists(),
      runtime.queueClients.continuation.createIfNotExists(),
    ]);
    const started = performance.now();
    let messages = 0;
    for (;;) {
      const result = await runPoll(runtime, () => undefined);
      messages += result.messagesEnqueued;
      if (result.caughtUp || result.lostRace) break;
    }
    return { rows, ms: performance.now() - started, messages };
  } finally {
    await Promise.all([feed.close(), azurite.close()]);
  }
}

export async function runManyStudies(stack: BenchStack, options: ManyStudiesOptions): Promise<Section> {
  await stack.servers.resetFhir();
  const specs = makeSampleStudies({
    studies: options.studies,
    seriesPerStudy: 2,
    instancesPerSeries: 10,
    seed: options.seed * 31,
  });
  const perStudy = 20;
  const rounds: Round[] = [];
  for (let start = 0; start < options.studies; start += ROUND) {
    const part = specs.slice(start * perStudy, (start + ROUND) * perStudy);
    const studies = Math.min(ROUND, options.studies - start);
    await stack.store(`many studies ${start + 1}-${start + studies}`, part);
    const run = await stack.measure(`many studies round ${rounds.length + 1}`, () => stack.syncOnce());
    rounds.push({
      studies,
      instances: part.length,
      ms: run.ms,
      fhirRequests: run.counts.fhirRequests,
      rssPeakMb: run.syncMemory.rssPeakMb,
    });
    progress(`many studies: round ${rounds.length}: ${fixed(run.ms / 1000, 2)} s`);
  }
  const completeness = await checkFhirComplete(stack.servers, specs);
  await stack.servers.resetFhir();

  const backlog: BacklogRun[] = [];
  for (const rows of options.backlogSizes) {
    progress(`poller alone over a backlog of ${rows} entries`);
    backlog.push(await pollerCostPerEntry(rows));
  }

  const rate = (round: Round) => round.studies / (round.ms / 1000);
  const first = rounds[0]!;
  const last = rounds.at(-1)!;
  const perEntry = (row: BacklogRun) => (row.ms * 1000) / row.rows;
  const pollerFlatness = backlog.length > 1 ? perEntry(backlog.at(-1)!) / perEntry(backlog[0]!) : 1;
  return {
    title: `Many studies: ${options.studies} studies x 2 series x 10 instances, rounds of ${ROUND}, FHIR filling up`,
    lines: [
      table(
        ['Round', 'Studies', 'Seconds', 'Studies/s', 'Inst/s', 'FHIR req', 'Sync RSS MB'],
        rounds.map((round, index) => [
          String(index + 1),
          String(round.studies),
          fixed(round.ms / 1000, 2),
          fixed(rate(round), 1),
          fixed(round.instances / (round.ms / 1000), 0),
          String(round.fhirRequests),
          fixed(round.rssPeakMb, 0),
        ]),
      ),
      '',
      'The poller alone (change feed v2 -> study queue -> checkpoint), one study per 100 entries:',
      table(
        ['Entries', 'Seconds', 'us/entry', 'Messages'],
        backlog.map((row) => [
          String(row.rows),
          fixed(row.ms / 1000, 2),
          fixed(perEntry(row), 1),
          String(row.messages),
        ]),
      ),
    ],
    checks: [
      atLeast('Many studies: last round rate / first round rate', rate(last) / rate(first), RATE_TARGET, 2),
      atMost('Poller cost per entry, largest backlog / smallest', pollerFlatness, POLLER_FLATNESS_TARGET, 2),
      {
        name: 'FHIR complete after sync (many studies)',
        target: `${completeness.expectedInstances} instances in ${completeness.expectedStudies} studies`,
        actual: `${completeness.foundInstances} found${completeness.complete ? '' : `; ${completeness.problems.join('; ')}`}`,
        pass: completeness.complete,
      },
    ],
    data: { rounds, backlog, pollerFlatness },
  };
}
