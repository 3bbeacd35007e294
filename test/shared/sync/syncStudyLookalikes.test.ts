import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { Tag } from '../../../shared/dicomweb/dicomJson.js';
import { transactionOf } from '../../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { imagingStudyIdentifier } from '../../../shared/mapping/imagingStudy.js';
import { sourceOf } from '../../../shared/mapping/ownership.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { attr, options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { change, ct, recordingDeps, studyMessage } from '../../support/studySync.js';

/**
 * Searches that return more than the identity asked for: FHIR servers match identifier tokens case-insensitively, so
 * a search for our Patient or ImagingStudy can return another one whose identity differs only in case. The writer
 * never takes such a resource for its own, and creates its own without a condition (a conditional create would match
 * the lookalike and write nothing). On the real local FHIR server, every profile.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`syncStudy and lookalike search results (local FHIR server, profile ${profile})`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;
    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });
    beforeEach(async () => {
      await createOurEndpoint(fhir, mapping);
    });
    const inPartition = (partition: string, message: StudyMessage): StudyMessage => ({ ...message, partition });
    const studyIdentities = async () =>
      (await server.all<ImagingStudy>('ImagingStudy')).map((s) => s.identifier?.[0]?.system).sort();

    it('another patient whose ID differs only in case: our Patient is created beside it, theirs untouched', async () => {
      const theirs: Patient = {
        resourceType: 'Patient',
        identifier: [{ value: 'pid-1' }],
        name: [{ family: 'Other' }],
        meta: { source: 'https://ehr.example.com' },
      };
      await fhir.transaction(transactionOf([{ resource: theirs, request: { method: 'POST', url: 'Patient' } }]));
      const { deps, recorder } = recordingDeps(fhir, () => [
        ct(1, { [Tag.PatientName]: attr('PN', { Alphabetic: 'Ours' }) }),
      ]);
      const synced = await syncStudy(studyMessage(change(1, 1)), deps, { mapping });
      assert.equal(synced.outcome, 'created');
      assert.equal(synced.attempts, 1);
      assert.deepEqual(recorder.sleeps, [], 'no conflict');
      const patients = await server.all<Patient>('Patient');
      const ours = patients.find((p) => p.id === synced.patientId);
      assert.deepEqual(
        ours?.identifier?.map((i) => i.value),
        ['PID-1'],
      );
      assert.equal(ours?.name?.[0]?.family, 'Ours');
      const other = patients.find((p) => p.id !== synced.patientId);
      assert.deepEqual([other?.identifier?.[0]?.value, other?.name?.[0]?.family], ['pid-1', 'Other']);
      const [study] = await server.all<ImagingStudy>('ImagingStudy');
      assert.equal(study?.subject.reference, `Patient/${synced.patientId}`);
    });

    it('the same study UID in a partition whose name differs only in case: a study of its own', async () => {
      const first = await syncStudy(
        inPartition('foo', studyMessage(change(1, 1))),
        recordingDeps(fhir, () => [ct(1)]).deps,
        {
          mapping,
        },
      );
      const { deps, recorder } = recordingDeps(fhir, () => [ct(1), ct(2)]);
      const second = await syncStudy(inPartition('Foo', studyMessage(change(2, 2))), deps, { mapping });
      assert.equal(second.outcome, 'created');
      assert.deepEqual(recorder.sleeps, [], 'no conflict');
      assert.notEqual(second.imagingStudyId, first.imagingStudyId);
      assert.deepEqual(await studyIdentities(), [
        imagingStudyIdentifier(studyUid, 'Foo').system,
        imagingStudyIdentifier(studyUid, 'foo').system,
      ]);
      const studies = await server.all<ImagingStudy>('ImagingStudy');
      const foo = studies.find((s) => s.id === first.imagingStudyId);
      const capitalFoo = studies.find((s) => s.id === second.imagingStudyId);
      assert.deepEqual([foo?.numberOfInstances, capitalFoo?.numberOfInstances], [1, 2]);
      assert.equal(sourceOf(capitalFoo), `${mapping.endpoint}/partitions/Foo`);
    });

    it('a study of a named partition is written with that partition’s identity and found again by it', async () => {
      const created = await syncStudy(
        inPartition('foo', studyMessage(change(1, 1))),
        recordingDeps(fhir, () => [ct(1)]).deps,
        {
          mapping,
        },
      );
      assert.deepEqual(await studyIdentities(), [imagingStudyIdentifier(studyUid, 'foo').system]);
      const again = await syncStudy(
        inPartition('foo', studyMessage(change(1, 1))),
        recordingDeps(fhir, () => [ct(1)]).deps,
        {
          mapping,
        },
      );
      assert.deepEqual([again.outcome, again.imagingStudyId], ['unchanged', created.imagingStudyId]);
      // The default partition's study of the same UID is another study.
      await syncStudy(studyMessage(change(1, 1)), recordingDeps(fhir, () => [ct(1)]).deps, { mapping });
      assert.deepEqual(
        await studyIdentities(),
        [imagingStudyIdentifier(studyUid).system, imagingStudyIdentifier(studyUid, 'foo').system].sort(),
      );
    });
  });
}
