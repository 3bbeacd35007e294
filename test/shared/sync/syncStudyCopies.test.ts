import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Bundle, Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { transactionOf } from '../../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { toEndpoint } from '../../../shared/mapping/endpoint.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { change, ct, recordingDeps, sop, studyMessage } from '../../support/studySync.js';

/**
 * syncStudy meeting duplicate copies of the study's identities on the real local FHIR server: copies of ours found
 * before writing are merged (the pass restarts, the result counts them), a copy a racing writer created next to the
 * one our transaction created is merged after writing, and a merge that loses a race is retried.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`syncStudy and duplicate copies (local FHIR server, profile ${profile})`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;
    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });
    beforeEach(async () => {
      await createOurEndpoint(fhir, mapping);
    });

    /** Creates `resource` as a new resource (a plain POST), as a racing writer's copy. */
    async function post(resource: Resource): Promise<void> {
      const { id: _id, meta, ...rest } = resource;
      const copy = { ...rest, meta: { source: meta?.source ?? mapping.endpoint } } as Resource;
      await fhir.transaction(transactionOf([{ resource: copy, request: { method: 'POST', url: copy.resourceType } }]));
    }
    const instancesOf = (study: ImagingStudy) =>
      (study.series ?? []).flatMap((series) => (series.instance ?? []).map((i) => i.uid)).sort();
    const only = async <T extends Resource>(resourceType: T['resourceType']): Promise<T> => {
      const all = await server.all<T>(resourceType);
      assert.equal(all.length, 1, `one ${resourceType}`);
      return all[0]!;
    };
    const restarted = (why: string) => ['info', `Study ${studyUid}: ${why}; syncing again`, undefined];
    const merged = (kind: string) => [
      'warn',
      `Study ${studyUid}: merged 1 duplicate ${kind} copies of ours`,
      undefined,
    ];

    /** A client whose transaction runs `after` once, right after the first Bundle that satisfies `when` committed. */
    function hooked(when: (bundle: Bundle) => boolean, after: () => Promise<void>): FhirClient {
      let done = false;
      return {
        search: (resourceType, params) => fhir.search(resourceType, params),
        transaction: async (bundle) => {
          const response = await fhir.transaction(bundle);
          if (!done && when(bundle)) {
            done = true;
            await after();
          }
          return response;
        },
      };
    }
    const createsImagingStudy = (bundle: Bundle) =>
      (bundle.entry ?? []).some((e) => e.resource?.resourceType === 'ImagingStudy' && e.request?.method === 'POST');

    for (const kind of ['ImagingStudy', 'Patient'] as const) {
      it(`two ${kind} copies of ours found before writing: merged into one, the pass restarts, the result counts it`, async () => {
        await syncStudy(studyMessage(change(1, 1)), recordingDeps(fhir, () => [ct(1)]).deps, { mapping });
        await post(await only(kind));
        const { deps, recorder } = recordingDeps(fhir, () => [ct(1), ct(2)]);
        const synced = await syncStudy(studyMessage(change(2, 2)), deps, { mapping });
        assert.deepEqual(recorder.logs, [merged(kind), restarted(`merged ${kind} copies`)]);
        assert.deepEqual(synced.duplicates, { removed: 1, othersKept: [] });
        assert.equal(synced.outcome, 'updated');
        assert.equal(synced.attempts, 1);
        const [study, patient] = [await only<ImagingStudy>('ImagingStudy'), await only<Patient>('Patient')];
        assert.deepEqual(instancesOf(study), [sop(1), sop(2)]);
        assert.equal(study.subject.reference, `Patient/${patient.id}`);
        assert.deepEqual([synced.imagingStudyId, synced.patientId], [study.id, patient.id]);
      });
    }

    it('two Endpoint copies of ours: merged into one before writing, the pass restarts', async () => {
      await post(toEndpoint(mapping));
      const { deps, recorder } = recordingDeps(fhir, () => [ct(1)]);
      const synced = await syncStudy(studyMessage(change(1, 1)), deps, { mapping });
      assert.deepEqual(recorder.logs, [merged('Endpoint'), restarted('merged Endpoint copies')]);
      assert.deepEqual(synced.duplicates, { removed: 1, othersKept: [] });
      const endpoint = await only<Endpoint>('Endpoint');
      assert.equal(synced.endpointId, endpoint.id);
      assert.deepEqual((await only<ImagingStudy>('ImagingStudy')).endpoint, [{ reference: `Endpoint/${endpoint.id}` }]);
    });

    it('a merge that loses a race is retried as a conflict, and the next attempt merges', async () => {
      await syncStudy(studyMessage(change(1, 1)), recordingDeps(fhir, () => [ct(1)]).deps, { mapping });
      await post(await only<Patient>('Patient'));
      // The merge's transaction (it deletes our extra copy) meets another writer's change once.
      let failed = false;
      const racing: FhirClient = {
        search: (resourceType, params) => fhir.search(resourceType, params),
        transaction: (bundle) => {
          if (!failed && (bundle.entry ?? []).some((e) => e.request?.method === 'DELETE')) {
            failed = true;
            server.failNext(1, 412);
          }
          return fhir.transaction(bundle);
        },
      };
      const { deps, recorder } = recordingDeps(racing, () => [ct(1), ct(2)]);
      const synced = await syncStudy(studyMessage(change(2, 2)), deps, { mapping });
      assert.equal(synced.attempts, 2);
      assert.deepEqual(synced.duplicates, { removed: 1, othersKept: [] });
      assert.equal(recorder.logs[0]?.[1], `Conflict on study ${studyUid}, retrying`);
      assert.equal(recorder.sleeps.length, 1);
      const [study, patient] = [await only<ImagingStudy>('ImagingStudy'), await only<Patient>('Patient')];
      assert.deepEqual(instancesOf(study), [sop(1), sop(2)]);
      assert.equal(study.subject.reference, `Patient/${patient.id}`);
    });

    for (const kind of ['ImagingStudy', 'Patient'] as const) {
      it(`a racing writer’s ${kind} created next to ours: merged after writing, one left and referenced`, async () => {
        const racing = hooked(createsImagingStudy, async () => post(await only(kind)));
        const { deps, recorder } = recordingDeps(racing, () => [ct(1)]);
        const synced = await syncStudy(studyMessage(change(1, 1)), deps, { mapping });
        assert.deepEqual(recorder.logs, [merged(kind), restarted(`merged a racing ${kind}`)]);
        assert.deepEqual(synced.duplicates, { removed: 1, othersKept: [] });
        const [study, patient] = [await only<ImagingStudy>('ImagingStudy'), await only<Patient>('Patient')];
        assert.deepEqual([synced.imagingStudyId, synced.patientId], [study.id, patient.id]);
        assert.deepEqual(instancesOf(study), [sop(1)]);
        assert.equal(study.subject.reference, `Patient/${patient.id}`);
      });
    }

    it('our new Patient merged into a racing copy by the other writer: planned again against the kept one', async () => {
      // The other writer created its copy, and (seeing ours) merged ours into it: repointed our ImagingStudy, deleted ours.
      const racing = hooked(createsImagingStudy, async () => {
        const ours = await only<Patient>('Patient');
        await post(ours);
        const theirs = (await server.all<Patient>('Patient')).find((p) => p.id !== ours.id)!;
        const study = await only<ImagingStudy>('ImagingStudy');
        await fhir.transaction(
          transactionOf([
            {
              resource: { ...study, subject: { reference: `Patient/${theirs.id}` } },
              request: { method: 'PUT', url: `ImagingStudy/${study.id}` },
            },
            { request: { method: 'DELETE', url: `Patient/${ours.id}` } },
          ]),
        );
      });
      const { deps, recorder } = recordingDeps(racing, () => [ct(1)]);
      const synced = await syncStudy(studyMessage(change(1, 1)), deps, { mapping });
      assert.deepEqual(recorder.logs, [restarted('our new Patient was merged into a racing copy')]);
      const patient = await only<Patient>('Patient');
      assert.equal(synced.patientId, patient.id, 'the result names the Patient that exists');
      assert.equal((await only<ImagingStudy>('ImagingStudy')).subject.reference, `Patient/${patient.id}`);
    });
  });
}
