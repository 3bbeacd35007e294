import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import { startDicomServer } from '../../dev/dicom-server/index.js';
import {
  fhirProfile,
  startFhirServer,
  type FhirProfileName,
  type FhirServerOptions,
} from '../../dev/fhir-server/index.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { SeededRandom } from '../../dev/samples/index.js';
import { imagingStudyWriter } from '../../functions/imagingStudyWriter.js';
import { studyQueueName } from '../../shared/queue/queueNames.js';
import { ChaosDelivery } from '../support/chaosDelivery.js';
import { differences, patientDifferences } from '../support/convergence.js';
import { apply, Workload } from '../support/workload.js';

/**
 * The correctness invariant: whatever the order of queue messages, duplicates, redeliveries and concurrent
 * writers, the final FHIR state equals the DICOM server's final state, on every FHIR server profile
 * (dev/fhir-server/profiles.ts), including the Patient demographics of the newest change-feed entry.
 * Seeds make the workload reproducible: set INVARIANT_SEEDS=1,2,3 to run others, INVARIANT_OPERATIONS to lengthen,
 * INVARIANT_PROFILES=medplum,azure,hapi to choose profiles, INVARIANT_THROTTLE=0.3 to have the FHIR server answer
 * that fraction of requests with 429, INVARIANT_PROFILE_OVERRIDES='{"metaSource":"verbatim"}' to switch single
 * behaviours of the profiles off (or on) and find the one a failure depends on.
 */
const seeds = (process.env.INVARIANT_SEEDS ?? '101,202,303').split(',').map(Number);
const operations = Number(process.env.INVARIANT_OPERATIONS ?? 90);
const throttleFraction = Number(process.env.INVARIANT_THROTTLE ?? 0);
const profileOverrides = JSON.parse(process.env.INVARIANT_PROFILE_OVERRIDES ?? '{}') as NonNullable<
  FhirServerOptions['profileOverrides']
>;
/** The profiles run by default (so in CI): all three, since the writer merges duplicates and reads HAPI's meta.source. */
const DEFAULT_PROFILES: readonly FhirProfileName[] = ['medplum', 'azure', 'hapi'];
/**
 * The writer orders Patient demographics across studies by change-feed position (shared/mapping/demographicsSource.ts);
 * set to a reason string to report the demographics check as TODO instead of failing.
 */
const DEMOGRAPHICS_PENDING: string | false = false;
const profiles = (process.env.INVARIANT_PROFILES?.split(',') ?? DEFAULT_PROFILES).map((name) => fhirProfile(name).name);

describe('sync invariant under reordering, duplicates, redeliveries and 8 concurrent writers', () => {
  let azurite: RunningAzurite;

  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite.close();
  });

  for (const profile of profiles) {
    for (const [index, seed] of seeds.entries()) {
      const version = index % 2 === 0 ? 'v2' : 'v1';
      it(`profile ${profile}, seed ${seed} (change feed ${version})`, (t) => runSeed(t, profile, seed, version));
    }
  }

  async function runSeed(t: TestContext, profile: FhirProfileName, seed: number, version: 'v1' | 'v2'): Promise<void> {
    const started = Date.now();
    const latency = new SeededRandom(seed * 13);
    const dicom = await startDicomServer({
      sequenceGaps: (sequence) => (sequence % 7 === 0 ? 3 : 0),
      // Metadata arrives up to 150 ms after it was read, so stale reads race with newer writes.
      responseDelayMs: (path) => (path.endsWith('/metadata') ? latency.int(0, 150) : 0),
    });
    const fhir = await startFhirServer({
      profile,
      profileOverrides,
      storageLatencyMs: 3,
      traffic: { throttleFraction, retryAfterMs: 50, seed },
    });
    try {
      const host = new LocalFunctionsHost({
        settings: {
          AzureWebJobsStorage: azurite.connectionString,
          DicomWeb__Endpoint: dicom.url,
          Fhir__Endpoint: fhir.url,
          DicomWeb__ChangeFeed__Version: version,
          DicomWeb__ChangeFeed__PageSize: '7',
          DicomCast__Schedule: '0 0 0 1 1 *',
          // A table per profile and seed: every run starts from its own empty checkpoint.
          DicomCast__CheckpointTable: `Checkpoints${profile}${seed}`,
        },
      });
      const queue = new QueueClient(azurite.connectionString, studyQueueName);
      await queue.createIfNotExists();
      await queue.clearMessages();
      const workload = new Workload(seed);
      const chaos = new ChaosDelivery(queue, imagingStudyWriter, new SeededRandom(seed * 7), {
        concurrency: 8,
        duplicateChance: 0.2,
        delayChance: 0.15,
        redeliverChance: 0.15,
      });
      let mutationsDone = false;
      const delivery = chaos.run(() => mutationsDone);

      for (let step = 0; step < operations; step++) {
        await apply(dicom, workload.next(dicom));
        const roll = workload.random.next();
        if (roll < 0.6) await host.timer.fire();
        if (roll > 0.97) fhir.failNext(2, 503);
        if (roll > 0.5 && roll < 0.55) dicom.failNext(1, 500, '/studies');
        // Keep mutating while writers work, so that writes race with newer DICOM changes.
        await new Promise((resolve) => setTimeout(resolve, workload.random.int(0, 25)));
      }
      await host.timer.fire();
      mutationsDone = true;
      await delivery;

      const problems = await differences(dicom, fhir);
      const demographics = await patientDifferences(dicom, fhir);
      await t.test('FHIR studies, series, instances, Patients and Endpoint equal DICOM', () => {
        assert.deepEqual(problems, [], `profile ${profile}, seed ${seed}: ${problems.length} differences`);
      });
      await t.test(
        'each Patient shows the demographics of the newest change-feed entry among its studies',
        { todo: DEMOGRAPHICS_PENDING },
        () => {
          assert.deepEqual(demographics, [], `profile ${profile}, seed ${seed}: ${demographics.length} differences`);
        },
      );
      assert.ok(chaos.stats.duplicates > 0 && chaos.stats.delays > 0 && chaos.stats.redeliveries > 0);
      const held = dicom.currentInstances().length;
      console.log(
        `profile ${profile}, seed ${seed}: ${operations} operations, ${held} instances held at the end, ` +
          `${JSON.stringify(chaos.stats)}, ${JSON.stringify(fhir.trafficStats())}, ${Date.now() - started} ms`,
      );
    } finally {
      await dicom.close();
      await fhir.close();
    }
  }
});
