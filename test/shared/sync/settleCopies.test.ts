import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { ConflictRetry } from '../../../shared/sync/conflict.js';
import { DuplicateReport, settleCopies, type SettleContext } from '../../../shared/sync/settleCopies.js';
import { options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * settleCopies against the real local FHIR server over loopback HTTP: others' extra copies are reported once and
 * left alone, ours are merged into the kept copy (the pass restarts), and a merge that loses a race is a conflict.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`settleCopies on the local FHIR server, profile ${profile}`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });

    const message: StudyMessage = { study: studyUid, maxSequence: 1, changes: [] };
    function contextFor(duplicates = new DuplicateReport()) {
      const logs: [string, string][] = [];
      const context: SettleContext = {
        message,
        deps: {
          dicom: studyReaderOver(() => Promise.reject(new Error('not read here'))),
          fhir,
          recordFailure: () => Promise.reject(new Error('not recorded here')),
          log: (level, text) => logs.push([level, text]),
        },
        maxEntries: 500,
        duplicates,
      };
      return { context, logs, duplicates };
    }
    const patient = (id: string, source: string): Patient => ({ resourceType: 'Patient', id, meta: { source } });
    /** Creates two copies of our Patient on the server; returns them as the server lists them. */
    async function twoOfOurPatients(): Promise<Patient[]> {
      const ourPatient: Patient = { resourceType: 'Patient', meta: { source: mapping.endpoint } };
      await fhir.transaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [1, 2].map(() => ({ resource: ourPatient, request: { method: 'POST', url: 'Patient' } })),
      });
      return server.all<Patient>('Patient');
    }

    it('nothing extra: no restart, nothing logged, nothing requested', async () => {
      const { context, logs, duplicates } = contextFor();
      server.resetRequestCount();
      const kept = patient('p1', mapping.endpoint);
      assert.equal(await settleCopies('Patient', { kept, ours: [], others: [] }, context), false);
      assert.deepEqual(logs, []);
      assert.equal(duplicates.summary(), undefined);
      assert.deepEqual(server.requestCounts(), {});
    });

    it('others’ copies: reported once each across passes, sorted, left alone, no restart', async () => {
      const { context, logs, duplicates } = contextFor();
      const kept = patient('p1', mapping.endpoint);
      const copies = { kept, ours: [], others: [patient('p9', 'https://other'), patient('p3', 'https://other')] };
      server.resetRequestCount();
      assert.equal(await settleCopies('Patient', copies, context), false);
      assert.equal(await settleCopies('Patient', copies, context), false, 'a later pass');
      const warning = (id: string) =>
        `Study ${studyUid}: Patient/${id} duplicates Patient/p1 but was not written by this DICOM server; left alone, Patient/p1 is used`;
      assert.deepEqual(logs, [
        ['warn', warning('p9')],
        ['warn', warning('p3')],
      ]);
      assert.deepEqual(duplicates.summary(), { removed: 0, othersKept: ['Patient/p3', 'Patient/p9'] });
      assert.deepEqual(server.requestCounts(), {});
    });

    it('our extra copy: its referrers move to the kept copy, it is deleted, and the pass restarts', async () => {
      const [kept, extra] = await twoOfOurPatients();
      await fhir.transaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: {
              resourceType: 'ImagingStudy',
              status: 'available',
              meta: { source: mapping.endpoint },
              subject: { reference: `Patient/${extra!.id}` },
            },
            request: { method: 'POST', url: 'ImagingStudy' },
          },
        ],
      });
      const { context, logs, duplicates } = contextFor();
      assert.equal(await settleCopies('Patient', { kept, ours: [extra!], others: [] }, context), true);
      assert.deepEqual(logs, [['warn', `Study ${studyUid}: merged 1 duplicate Patient copies of ours`]]);
      assert.deepEqual(duplicates.summary(), { removed: 1, othersKept: [] });
      assert.deepEqual(
        (await server.all<Patient>('Patient')).map((p) => p.id),
        [kept!.id],
      );
      const [study] = await server.all<ImagingStudy>('ImagingStudy');
      assert.equal(study?.subject?.reference, `Patient/${kept!.id}`);
    });

    it('without a log (it is optional): others’ copies still reported, ours still merged', async () => {
      const { context, duplicates } = contextFor();
      delete context.deps.log;
      const [kept, extra] = await twoOfOurPatients();
      const copies = { kept, ours: [extra!], others: [patient('p9', 'https://other')] };
      assert.equal(await settleCopies('Patient', copies, context), true);
      assert.deepEqual(duplicates.summary(), { removed: 1, othersKept: ['Patient/p9'] });
      assert.deepEqual(
        (await server.all<Patient>('Patient')).map((p) => p.id),
        [kept!.id],
      );
    });

    it('a merge that loses a race is a conflict to retry, naming the study and what was merged', async () => {
      const { context, duplicates } = contextFor();
      const kept = patient('p1', mapping.endpoint);
      server.failNext(1, 412);
      const error = await settleCopies(
        'Patient',
        { kept, ours: [patient('p2', mapping.endpoint)], others: [] },
        context,
      ).then(
        () => assert.fail('expected a conflict'),
        (e: unknown) => e,
      );
      server.failNext(0, 412);
      assert.ok(error instanceof ConflictRetry);
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'fhir-conflict');
      assert.equal(
        error.message,
        `Another writer changed the FHIR resources of the study first (merging duplicate Patient copies) (study ${studyUid})`,
      );
      assert.deepEqual(error.location, { study: studyUid });
      assert.ok(error.cause instanceof RetryableError, 'the failed request is the cause');
      assert.equal(duplicates.summary(), undefined);
    });
  });
}
