import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Bundle, Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import type { StudySyncDeps, StudySyncOptions } from '../../../shared/sync/studySyncTypes.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { change, ct, recordingDeps, sop, studyMessage as message } from '../../support/studySync.js';
import { ctDoseReport } from '../../support/ctDoseReport.js';
import { attr, options as mapping, pn, studyUid } from '../../support/mappingFixtures.js';
import { sourceOf } from '../../../shared/mapping/ownership.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { raceBeforeFirstTransaction } from '../../support/racingFhir.js';

/**
 * syncStudy against the real local FHIR server over loopback HTTP; the DICOM side is the study's metadata as the
 * reader would return it. What it returns, records, logs and writes for each path, and how it retries a lost race.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`syncStudy on the local FHIR server, profile ${profile}`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });
    beforeEach(async () => {
      // The writer creates this DICOM server's Endpoint in a transaction of its own the first time it sees none
      // (then syncs again); these tests start after that, so each sync below is one pass over a known Endpoint.
      await createOurEndpoint(fhir, mapping);
    });

    const depsFor = (datasets: () => DicomJsonDataset[], overrides: Partial<StudySyncDeps> = {}) =>
      recordingDeps(fhir, datasets, overrides);
    const options: StudySyncOptions = { mapping };
    const sync = (msg: StudyMessage, datasets: DicomJsonDataset[], overrides: Partial<StudySyncDeps> = {}) => {
      const { deps, recorder } = depsFor(() => datasets, overrides);
      return { recorder, result: syncStudy(msg, deps, options) };
    };
    const only = async <T extends Resource>(resourceType: T['resourceType']): Promise<T> => {
      const all = await server.all<T>(resourceType);
      assert.equal(all.length, 1, `one ${resourceType}`);
      return all[0]!;
    };
    const instancesOf = (study: ImagingStudy) =>
      (study.series ?? []).flatMap((series) => (series.instance ?? []).map((i) => i.uid)).sort();
    /** The study's ImagingStudy, rewritten as another DICOM server's (its meta.source). */
    const ownedByAnotherServer = async (): Promise<ImagingStudy> => {
      const study = await only<ImagingStudy>('ImagingStudy');
      const resource = { ...study, meta: { source: 'https://other.example.com' } };
      await fhir.transaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource, request: { method: 'PUT', url: `ImagingStudy/${study.id}` } }],
      });
      return study;
    };
    /** A CT dose report (instance 1.2.3.9.1) of `events` irradiation events, with the change that names it. */
    const doseReport = (events: number, sequence: number) => ({
      dataset: ctDoseReport(
        Array.from({ length: events }, (_, i) => ({ uid: `1.2.3.100.${i + 1}`, ctdiVol: i + 1, dlp: 10 * (i + 1) })),
        100,
      ),
      change: { ...change(1, sequence), series: '1.2.3.9', sop: '1.2.3.9.1' },
    });
    it('creates, then finds it unchanged, then updates; the result names what it wrote', async () => {
      const first = await sync(message(change(1, 1), change(2, 2)), [ct(1), ct(2)]).result;
      const [study, patient, endpoint] = [
        await only<ImagingStudy>('ImagingStudy'),
        await only<Patient>('Patient'),
        await only<Endpoint>('Endpoint'),
      ];
      assert.deepEqual(first, {
        study: studyUid,
        outcome: 'created',
        attempts: 1,
        instances: 2,
        series: 1,
        warnings: [],
        rejectedInstances: 0,
        imagingStudyId: study.id,
        patientId: patient.id,
        endpointId: endpoint.id,
      });
      assert.deepEqual(instancesOf(study), [sop(1), sop(2)]);
      // Read as the writer reads it: HAPI appends `#<request id>` to meta.source.
      assert.equal(sourceOf(study), mapping.endpoint);

      const again = await sync(message(change(2, 2)), [ct(1), ct(2)]).result;
      assert.deepEqual(again, { ...first, outcome: 'unchanged' });
      assert.equal((await only<ImagingStudy>('ImagingStudy')).meta?.versionId, study.meta?.versionId);

      const third = await sync(message(change(3, 3)), [ct(1), ct(2), ct(3)]).result;
      assert.deepEqual(third, { ...first, outcome: 'updated', instances: 3 });
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1), sop(2), sop(3)]);
    });

    it('the instance stored last (highest sequence of its changes) decides the Patient', async () => {
      const named = (n: number, name: string) => ct(n, { [Tag.PatientName]: pn(name) });
      // Instance 1 changed at sequences 1 and 5, instance 2 at 3: instance 1 was stored last.
      await sync(message(change(1, 1), change(2, 3), change(1, 5)), [named(1, 'Last^Stored'), named(2, 'Earlier^One')])
        .result;
      assert.equal((await only<Patient>('Patient')).name?.[0]?.family, 'Last');
    });

    it('the birth date follows an existing Patient only for an update row', async () => {
      const born = (date: string) => ct(1, { [Tag.PatientBirthDate]: attr('DA', date) });
      await sync(message(change(1, 1)), [born('19700101')]).result;
      assert.equal((await only<Patient>('Patient')).birthDate, '1970-01-01');
      await sync(message(change(1, 2)), [born('19800202')]).result;
      assert.equal((await only<Patient>('Patient')).birthDate, '1970-01-01', 'a create row leaves it');
      await sync(message(change(1, 3, { action: 'update' })), [born('19800202')]).result;
      assert.equal((await only<Patient>('Patient')).birthDate, '1980-02-02');
      // One update row among create rows is enough.
      await sync(message(change(2, 4), change(1, 5, { action: 'update' })), [born('19900303'), ct(2)]).result;
      assert.equal((await only<Patient>('Patient')).birthDate, '1990-03-03');
    });

    it('another writer creating the study between our read and our write makes us retry (200 is not ours)', async () => {
      const racing = raceBeforeFirstTransaction(fhir, async () => {
        // The other writer saw only instance 1.
        await sync(message(change(1, 1)), [ct(1)]).result;
      });
      const { result, recorder } = sync(message(change(2, 2)), [ct(1), ct(2)], { fhir: racing });
      const synced = await result;
      assert.equal(synced.attempts, 2);
      assert.equal(synced.outcome, 'updated');
      assert.equal(synced.imagingStudyId, (await only<ImagingStudy>('ImagingStudy')).id);
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1), sop(2)]);
      assert.deepEqual(recorder.logs, [['info', `Conflict on study ${studyUid}, retrying`, { attempt: 1 }]]);
      assert.equal(recorder.sleeps.length, 1);
      assert.ok(recorder.sleeps[0]! >= 5 && recorder.sleeps[0]! < 15, `backoff ${recorder.sleeps[0]}`);
    });

    it('an Endpoint another writer created meanwhile is fine: no retry', async () => {
      const racing = raceBeforeFirstTransaction(fhir, async (bundle) => {
        await fhir.transaction({
          ...bundle,
          entry: (bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'Endpoint'),
        });
      });
      const synced = await sync(message(change(1, 1)), [ct(1)], { fhir: racing }).result;
      assert.equal(synced.attempts, 1);
      assert.equal(synced.outcome, 'created');
      assert.equal(synced.endpointId, (await only<Endpoint>('Endpoint')).id);
    });

    it('gives up after maxAttempts conflicts with a retryable conflict that keeps the last one as its cause', async () => {
      server.failNext(100, 412);
      const { deps, recorder } = depsFor(() => [ct(1)]);
      const error = await syncStudy(message(change(1, 1)), deps, { mapping, maxAttempts: 3 }).then(
        () => assert.fail('expected to give up'),
        (e: unknown) => e,
      );
      server.failNext(0, 412);
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'fhir-conflict');
      assert.equal(
        error.message,
        `Gave up after 3 attempts: other writers kept changing study ${studyUid} (study ${studyUid})`,
      );
      assert.ok(error.cause instanceof RetryableError);
      assert.match(error.cause.message, /answered 412/);
      assert.equal(recorder.sleeps.length, 3);
      // 5 * 2^attempt ms, jittered by 0.5-1.5.
      recorder.sleeps.forEach((ms, index) => {
        const base = 5 * 2 ** (index + 1);
        assert.ok(ms >= base * 0.5 && ms < base * 1.5, `attempt ${index + 1} slept ${ms}`);
      });
      assert.deepEqual(
        recorder.logs.map(([level, text, props]) => [level, text, props]),
        [1, 2, 3].map((attempt) => ['info', `Conflict on study ${studyUid}, retrying`, { attempt }]),
      );
    });

    it(
      'without an injected sleep, a conflict retry waits on a real timer and then retries',
      { timeout: 10_000 },
      async () => {
        server.failNext(1, 412);
        const { deps, recorder } = depsFor(() => [ct(1)]);
        delete deps.sleep;
        const synced = await syncStudy(message(change(1, 1)), deps, options);
        assert.deepEqual([synced.outcome, synced.attempts], ['created', 2]);
        assert.deepEqual(recorder.sleeps, []);
      },
    );

    it('a pass that keeps restarting gives up after twice maxAttempts restarts, as a conflict', async () => {
      await server.reset();
      // A server that answers the Endpoint's own transaction but never keeps it: every pass creates it again.
      const forgetful: FhirClient = {
        search: (resourceType, params) => fhir.search(resourceType, params),
        transaction: async (bundle: Bundle) =>
          bundle.entry?.every((e) => e.resource?.resourceType === 'Endpoint')
            ? { resourceType: 'Bundle', type: 'transaction-response', entry: [] }
            : fhir.transaction(bundle),
      };
      const { deps, recorder } = depsFor(() => [ct(1)], { fhir: forgetful });
      const error = await syncStudy(message(change(1, 1)), deps, { mapping, maxAttempts: 2 }).then(
        () => assert.fail('expected to give up'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'fhir-conflict');
      assert.match(error.message, /^Gave up after 2 attempts/);
      assert.equal(recorder.logs.length, 5, 'restarts 1-4 within the bound, the fifth ends it');
      assert.deepEqual(recorder.sleeps, []);
      assert.deepEqual(await server.all('ImagingStudy'), []);
    });

    for (const status of [400, 500]) {
      it(`a FHIR ${status} is not a conflict: thrown at once, not retried here`, async () => {
        server.failNext(1, status);
        const { result, recorder } = sync(message(change(1, 1)), [ct(1)]);
        const error = await result.then(
          () => assert.fail('expected a failure'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof (status === 400 ? NonRetryableError : RetryableError));
        assert.deepEqual(recorder.sleeps, []);
      });
    }

    // Two copies of one identity are no longer an error: the writer merges them (issue 8); see
    // test/integration/duplicates.test.ts and concurrentCreate.test.ts.

    it('records instances the feed lists as current that the server does not return, and keeps the study', async () => {
      const created = await sync(message(change(1, 1)), [ct(1)]).result;
      const msg = message(
        change(2, 4),
        change(3, 5, { action: 'delete', state: 'deleted' }),
        change(4, 6, { state: 'replaced' }),
      );
      const { result, recorder } = sync(msg, []);
      const synced = await result;
      assert.deepEqual(synced, {
        study: studyUid,
        outcome: 'unchanged',
        attempts: 1,
        instances: 0,
        series: 0,
        warnings: [],
        rejectedInstances: 0,
        imagingStudyId: created.imagingStudyId,
      });
      assert.deepEqual(recorder.failures, [
        {
          category: 'dicom-not-found',
          reason:
            'The change feed listed this instance as current (sequence 4, create) but the DICOM server does not return it; it is not in FHIR',
          study: studyUid,
          series: '1.2.3.1',
          instance: sop(2),
          sequence: 4,
          payload: msg,
        },
      ]);
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1)]);
    });

    it('a delete row whose instance is current again is not recorded as missing (its create row speaks for it)', async () => {
      await sync(message(change(1, 1)), [ct(1)]).result;
      const { result, recorder } = sync(message(change(2, 4, { action: 'delete', state: 'current' })), [ct(1)]);
      await result;
      assert.deepEqual(recorder.failures, []);
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1)]);
    });

    it('deletes our ImagingStudy when the study is gone (delete rows), and says absent when there was none', async () => {
      const created = await sync(message(change(1, 1)), [ct(1)]).result;
      const gone = message(change(1, 2, { action: 'delete', state: 'deleted' }));
      const { result, recorder } = sync(gone, []);
      assert.deepEqual(await result, {
        study: studyUid,
        outcome: 'deleted',
        attempts: 1,
        instances: 0,
        series: 0,
        warnings: [],
        rejectedInstances: 0,
        imagingStudyId: created.imagingStudyId,
      });
      assert.deepEqual(recorder.failures, []);
      assert.deepEqual(await server.all('ImagingStudy'), []);

      const absent = await sync(gone, []).result;
      assert.equal(absent.outcome, 'absent');
      assert.equal(absent.imagingStudyId, undefined);
    });

    it('a study stored again while it was being removed is synced again at once (a DELETE has no fence)', async () => {
      await sync(message(change(1, 1)), [ct(1)]).result;
      let reads = 0;
      const { deps, recorder } = depsFor(() => (reads++ === 0 ? [] : [ct(1)]));
      const synced = await syncStudy(message(change(1, 2, { action: 'delete', state: 'deleted' })), deps, options);
      assert.equal(reads, 3, 'the pass, the read after the delete, the next pass');
      assert.equal(synced.outcome, 'created');
      assert.equal(synced.attempts, 1);
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1)]);
      assert.deepEqual(recorder.logs, [
        ['info', `Study ${studyUid}: the study was stored again while it was being removed; syncing again`, undefined],
      ]);
    });

    it('keeps another server’s ImagingStudy when our study is gone, and says why', async () => {
      await sync(message(change(1, 1)), [ct(1)]).result;
      const study = await ownedByAnotherServer();
      const { result, recorder } = sync(message(change(1, 2, { action: 'delete', state: 'deleted' })), []);
      const synced = await result;
      assert.equal(synced.outcome, 'unchanged');
      assert.equal(synced.imagingStudyId, study.id);
      assert.deepEqual(recorder.logs, [
        ['warn', `ImagingStudy ${study.id} of study ${studyUid} is not owned by this DICOM server; kept`, undefined],
      ]);
      assert.equal((await server.all('ImagingStudy')).length, 1);
    });

    it('every instance unusable: FHIR is left as it is and each instance is recorded', async () => {
      const created = await sync(message(change(1, 1)), [ct(1)]).result;
      const msg = message(change(2, 7));
      const { result, recorder } = sync(msg, [ct(2, { [Tag.PatientID]: null })]);
      const synced = await result;
      assert.equal(synced.outcome, 'unchanged');
      assert.equal(synced.imagingStudyId, created.imagingStudyId);
      assert.equal(synced.rejectedInstances, 1);
      assert.deepEqual(recorder.failures, [
        {
          category: 'bad-dicom-data',
          reason: 'Instance has no PatientID (0010,0020); it is left out of the ImagingStudy',
          study: studyUid,
          series: '1.2.3.1',
          instance: sop(2),
          tag: '(0010,0020)',
          sequence: 7,
          payload: msg,
        },
      ]);
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1)]);
    });

    it('every instance malformed DICOM JSON: FHIR is left as it is and each instance is recorded', async () => {
      const created = await sync(message(change(1, 1)), [ct(1)]).result;
      const msg = message(change(1, 2, { action: 'update' }));
      const broken = (n: number) =>
        ({ ...ct(n), [Tag.PatientName]: { vr: 'PN', Value: 'not a list' } }) as unknown as DicomJsonDataset;
      const { result, recorder } = sync(msg, [broken(1)]);
      assert.deepEqual(await result, {
        study: studyUid,
        outcome: 'unchanged',
        attempts: 1,
        instances: 0,
        series: 0,
        warnings: [],
        rejectedInstances: 1,
      });
      assert.deepEqual(
        recorder.failures.map((f) => [f.category, f.instance, f.sequence]),
        [['bad-dicom-data', sop(1), 2]],
      );
      assert.equal((await only<ImagingStudy>('ImagingStudy')).id, created.imagingStudyId);
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1)]);
      // One readable instance among malformed ones: the malformed count among the rejected.
      const mixed = await sync(message(change(2, 3)), [ct(1), broken(2)]).result;
      assert.equal(mixed.rejectedInstances, 1);
    });

    it('no Endpoint yet: creates it in a transaction of its own, then syncs again in the same attempt', async () => {
      await server.reset();
      const { result, recorder } = sync(message(change(1, 1)), [ct(1)]);
      const synced = await result;
      assert.equal(synced.outcome, 'created');
      assert.equal(synced.attempts, 1);
      assert.equal(synced.endpointId, (await only<Endpoint>('Endpoint')).id);
      assert.deepEqual(recorder.logs, [['info', `Study ${studyUid}: created the Endpoint; syncing again`, undefined]]);
    });

    it('tag warnings are logged and kept; a sync without warnings keeps none', async () => {
      const { result, recorder } = sync(message(change(1, 1)), [ct(1, { [Tag.PatientSex]: attr('CS', 'X') })]);
      const synced = await result;
      assert.equal(synced.warnings.length, 1);
      const [warning] = synced.warnings;
      assert.deepEqual(recorder.warnings, [[studyUid, synced.warnings]]);
      assert.deepEqual(recorder.logs, [
        ['warn', `Tag warning: ${warning!.keyword} ${warning!.tag} ${warning!.reason}`, { ...warning }],
      ]);
      const clean = sync(message(change(1, 2)), [ct(1)]);
      await clean.result;
      assert.deepEqual(clean.recorder.warnings, []);
    });

    it('a resource the study needs that is not valid R4: not sent, one error naming it, other failures recorded', async () => {
      const msg = message(change(1, 1), change(2, 2));
      server.resetRequestCount();
      const { result, recorder } = sync(msg, [ct(1), ct(2, { [Tag.PatientID]: null })], {
        validate: (resource) =>
          resource.resourceType === 'ImagingStudy' ? [{ path: 'ImagingStudy.status', message: 'broken' }] : [],
      });
      const error = await result.then(
        () => assert.fail('expected invalid-resource'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof NonRetryableError);
      assert.equal(error.category, 'invalid-resource');
      assert.equal(
        error.message,
        `Not sent: ImagingStudy urn:oid:${studyUid} is not valid FHIR R4: ImagingStudy.status: broken (study ${studyUid})`,
      );
      assert.deepEqual(
        recorder.failures.map((f) => [f.category, f.instance]),
        [['bad-dicom-data', sop(2)]],
      );
      assert.equal(server.requestCounts().transaction ?? 0, 0);
    });

    it('every resource found not valid R4 is named in the one error, in plan order', async () => {
      const report = doseReport(1, 2);
      const msg = message(change(1, 1), report.change);
      const { deps, recorder } = depsFor(() => [ct(1), report.dataset], {
        validate: (resource) =>
          resource.resourceType === 'ImagingStudy' || resource.resourceType === 'Observation'
            ? [{ path: `${resource.resourceType}.status`, message: 'broken' }]
            : [],
      });
      server.resetRequestCount();
      const error = await syncStudy(msg, deps, { mapping: { ...mapping, generateObservations: true } }).then(
        () => assert.fail('expected invalid-resource'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof NonRetryableError);
      assert.equal(error.category, 'invalid-resource');
      const invalid = (what: string, type: string) => `${what} is not valid FHIR R4: ${type}.status: broken`;
      assert.equal(
        error.message,
        `Not sent: ${[
          invalid('Observation summary urn:oid:1.2.3.9.1', 'Observation'),
          invalid('Observation event urn:oid:1.2.3.100.1', 'Observation'),
          invalid(`ImagingStudy urn:oid:${studyUid}`, 'ImagingStudy'),
        ].join('; ')} (study ${studyUid})`,
      );
      assert.deepEqual(recorder.failures, []);
      assert.equal(server.requestCounts().transaction ?? 0, 0);
    });

    it('validate: false sends what it built without checking it', async () => {
      let checked = 0;
      await sync(message(change(1, 1)), [ct(1)], {
        validate: () => {
          checked++;
          return [];
        },
      }).result;
      assert.ok(checked > 0);
      await server.reset();
      const unchecked = await sync(message(change(1, 1)), [ct(1)], { validate: false }).result;
      assert.equal(unchecked.outcome, 'created');
    });

    it('reports dose Observations only when GenerateObservations is on', async () => {
      const { deps } = depsFor(() => [ct(1)]);
      const withObservations = await syncStudy(message(change(1, 1)), deps, {
        mapping: { ...mapping, generateObservations: true },
      });
      assert.deepEqual(withObservations.observations, { created: 0, updated: 0, deleted: 0 });
      await server.reset();
      const without = await sync(message(change(1, 1)), [ct(1)]).result;
      assert.equal('observations' in without, false);
    });

    it('one malformed instance among readable ones: the readable ones are written, the malformed one recorded', async () => {
      await sync(message(change(1, 1)), [ct(1)]).result;
      const broken = { ...ct(2), [Tag.PatientName]: { vr: 'PN', Value: 'not a list' } } as unknown as DicomJsonDataset;
      const { result, recorder } = sync(message(change(2, 2), change(3, 3)), [ct(1), broken, ct(3)]);
      const synced = await result;
      assert.equal(synced.outcome, 'updated');
      assert.equal(synced.rejectedInstances, 1);
      assert.deepEqual(
        recorder.failures.map((f) => [f.category, f.instance, f.sequence]),
        [['bad-dicom-data', sop(2), 2]],
      );
      assert.deepEqual(instancesOf(await only<ImagingStudy>('ImagingStudy')), [sop(1), sop(3)]);
    });

    it('a malformed instance the message does not name is recorded without a sequence', async () => {
      const msg = message(change(1, 1));
      const broken = { ...ct(9), [Tag.PatientName]: { vr: 'PN', Value: 'not a list' } } as unknown as DicomJsonDataset;
      const { result, recorder } = sync(msg, [ct(1), broken]);
      await result;
      assert.deepEqual(recorder.failures, [
        {
          category: 'bad-dicom-data',
          study: studyUid,
          series: '1.2.3.1',
          instance: sop(9),
          tag: '(0010,0010)',
          reason:
            'Malformed DICOM JSON: (0010,0010) "Value" is not an array (got "not a list"); DICOM JSON lists every value; the instance is left out',
          payload: msg,
        },
      ]);
    });

    for (const { what, datasets, rejected, failure } of [
      {
        what: 'every instance is unusable',
        datasets: [ct(1, { [Tag.PatientID]: null })],
        rejected: 1,
        failure: 'bad-dicom-data',
      },
      {
        what: 'listed as current is not returned by the DICOM server',
        datasets: [],
        rejected: 0,
        failure: 'dicom-not-found',
      },
    ]) {
      it(`a new study whose instance ${what}: recorded, nothing written, no id`, async () => {
        const { result, recorder } = sync(message(change(1, 1)), datasets);
        const synced = await result;
        assert.deepEqual(
          [
            synced.outcome,
            synced.instances,
            synced.rejectedInstances,
            Object.keys(synced).filter((k) => k.endsWith('Id')),
          ],
          ['unchanged', 0, rejected, []],
        );
        assert.deepEqual(
          recorder.failures.map((f) => [f.category, f.instance, f.sequence]),
          [[failure, sop(1), 1]],
        );
        assert.deepEqual(await server.all('ImagingStudy'), []);
        assert.deepEqual(await server.all('Patient'), []);
      });
    }

    it('instances returned but none mappable, another listed one missing: no glitch guard, nothing written', async () => {
      // The read is not empty, so this is not the empty-or-404 read the guard keeps a study through. Instances the
      // mapping rejects leave FHIR as it is (`keep`: unchanged), as instances the screen rejects do.
      const msg = message(change(1, 1), change(2, 2));
      const { result, recorder } = sync(msg, [ct(1, { [Tag.Modality]: null })]);
      const synced = await result;
      assert.equal(synced.outcome, 'unchanged');
      assert.deepEqual(recorder.failures.map((f) => [f.category, f.instance]).sort(), [
        ['bad-dicom-data', sop(1)],
        ['dicom-not-found', sop(2)],
      ]);
      assert.deepEqual(await server.all('ImagingStudy'), []);
    });

    it('another server’s study loses only the instance the message names as deleted', async () => {
      await sync(message(change(1, 1), change(2, 2), change(3, 3)), [ct(1), ct(2), ct(3)]).result;
      await ownedByAnotherServer();
      // The DICOM server no longer holds 2 (deleted) nor 3 (never ours to know about: not in the message).
      const synced = await sync(message(change(2, 4, { action: 'delete', state: 'deleted' })), [ct(1)]).result;
      assert.equal(synced.outcome, 'updated');
      const after = await only<ImagingStudy>('ImagingStudy');
      assert.deepEqual(instancesOf(after), [sop(1), sop(3)]);
      assert.equal(sourceOf(after), 'https://other.example.com');
    });

    it('without a logger or a warnings store (both optional), a sync that restarts and has tag warnings completes', async () => {
      await server.reset();
      const { deps, recorder } = depsFor(() => [ct(1, { [Tag.PatientSex]: attr('CS', 'X') })]);
      delete deps.log;
      delete deps.recordWarnings;
      const synced = await syncStudy(message(change(1, 1)), deps, options);
      assert.equal(synced.outcome, 'created');
      assert.equal(synced.warnings.length, 1);
      assert.deepEqual([recorder.logs, recorder.warnings], [[], []]);
    });

    it('Fhir:MaxBundleEntries: no Bundle is larger; what does not fit is written by the next pass', async () => {
      const report = doseReport(4, 2);
      const sizes: number[] = [];
      const counting: FhirClient = {
        search: (resourceType, params) => fhir.search(resourceType, params),
        transaction: (bundle: Bundle) => {
          sizes.push(bundle.entry?.length ?? 0);
          return fhir.transaction(bundle);
        },
      };
      const msg = message(change(1, 1), report.change);
      const { deps, recorder } = depsFor(() => [ct(1), report.dataset], { fhir: counting });
      const synced = await syncStudy(msg, deps, {
        mapping: { ...mapping, generateObservations: true },
        maxBundleEntries: 3,
      });
      assert.equal(synced.outcome, 'updated', 'the study was created by the first pass');
      assert.ok(sizes.length > 1 && sizes.every((size) => size <= 3), `Bundle sizes ${sizes.join(', ')}`);
      assert.match(recorder.logs[0]?.[1] ?? '', /: \d+ entries left for a Bundle of their own; syncing again$/);
      const observations = await server.all<Observation>('Observation');
      assert.equal(observations.length, 5, 'one per irradiation event and the accumulated dose');
      const study = await only<ImagingStudy>('ImagingStudy');
      assert.ok(observations.every((o) => o.partOf?.[0]?.reference === `ImagingStudy/${study.id}`));
    });

    it('an update of a known study costs three requests: the reads, the Patient search, the transaction', async () => {
      await sync(message(change(1, 1)), [ct(1)]).result;
      server.resetRequestCount();
      const synced = await sync(message(change(2, 2)), [ct(1), ct(2)]).result;
      assert.equal(synced.outcome, 'updated');
      assert.deepEqual(server.requestCounts(), { batch: 1, 'search-type': 1, transaction: 1 });
    });
  });
}
