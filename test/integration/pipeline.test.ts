import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../dev/samples/index.js';
import { storeSampleStudies } from '../../dev/seedSamples.js';
import { getRuntime } from '../../shared/runtime/runtime.js';
import { differences } from '../support/convergence.js';

/** The sync pipeline end to end on the local stack: change feed → queue → FHIR, through the real handlers. */
for (const version of ['v2', 'v1'] as const) {
  describe(`sync pipeline on the local stack (change feed ${version})`, () => {
    let stack: LocalStack;
    let host: LocalFunctionsHost;

    before(async () => {
      stack = await startLocalStack({
        dicomOptions: { sequenceGaps: (sequence) => (sequence % 5 === 0 ? 10 : 0), nameCase: 'pascal' },
        settings: {
          DicomWeb__ChangeFeed__Version: version,
          DicomWeb__ChangeFeed__PageSize: '10',
          Patient__PatientSystemId: 'urn:oid:1.2.36.146.595.217.0.1',
        },
      });
      host = new LocalFunctionsHost({ settings: stack.settings });
    });
    after(async () => {
      await stack.close();
    });

    it('creates Patient, Endpoint and ImagingStudy for every stored study', async () => {
      const specs = await storeSampleStudies(stack.dicomUrl, {
        studies: 3,
        seriesPerStudy: 2,
        instancesPerSeries: 4,
        seed: 7,
      });
      await host.runOnce();

      assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
      const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
      assert.equal(studies.length, 3);
      const [endpoint] = await stack.fhir!.all<Endpoint>('Endpoint');
      assert.equal(endpoint?.address, stack.dicomUrl);
      assert.equal(endpoint?.name, `DICOM WADO-RS endpoint ${stack.dicomUrl}`);
      const patients = await stack.fhir!.all<Patient>('Patient');
      assert.equal(patients.length, new Set(specs.map((spec) => spec.patientId)).size);

      for (const study of studies) {
        const first = specs.find((spec) => `urn:oid:${spec.studyUid}` === study.identifier?.[0]?.value);
        assert.ok(first, 'identifier urn:dicom:uid / urn:oid:<StudyInstanceUID>');
        assert.equal(study.identifier?.[0]?.system, 'urn:dicom:uid');
        assert.equal(study.meta?.source, stack.dicomUrl);
        assert.equal(study.status, 'available');
        assert.equal(study.numberOfSeries, 2);
        assert.equal(study.numberOfInstances, 8);
        assert.equal(study.endpoint?.[0]?.reference, `Endpoint/${endpoint?.id}`);
        assert.equal(study.modality?.[0]?.system, 'http://dicom.nema.org/resources/ontology/DCM');
        const patient = patients.find((candidate) => study.subject.reference === `Patient/${candidate.id}`);
        assert.deepEqual(patient?.identifier?.[0], {
          system: 'urn:oid:1.2.36.146.595.217.0.1',
          value: first.patientId,
        });
        const accession = study.identifier?.find((identifier) => identifier.type?.coding?.[0]?.code === 'ACSN');
        assert.equal(accession?.value, first.accessionNumber);
      }
    });

    it('follows bulk updates, instance deletes and study deletes', async () => {
      const [one, two] = [...new Set(stack.dicom!.currentInstances().map((instance) => instance.study))];
      const victim = stack.dicom!.currentInstances().find((instance) => instance.study === one)!;
      await stack.dicom!.deleteInstance(victim.study, victim.series, victim.sop);
      await stack.dicom!.bulkUpdate([one!], { '00081030': { vr: 'LO', Value: ['Updated description'] } });
      await stack.dicom!.deleteStudy(two!);
      const before = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).length;
      await host.runOnce();

      assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
      const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
      assert.equal(studies.length, before - 1);
      const updated = studies.find((study) => study.identifier?.[0]?.value === `urn:oid:${one}`);
      assert.equal(updated?.description, 'Updated description');
      assert.equal(updated?.numberOfInstances, 7);
    });

    it('follows a re-store: the instance stays once and its new values win', async () => {
      const restored: InstanceSpec = {
        studyUid: uid('restore', version),
        seriesUid: uid('restore', version, 'series'),
        sopUid: uid('restore', version, 'sop'),
        patientId: `PID-restore-${version}`,
        patientName: 'Restore^Test',
        modality: 'MR',
        seriesDescription: 'First version',
      };
      await stack.dicom!.storeFiles([makeInstanceFile(restored)]);
      await host.runOnce();
      await stack.dicom!.storeFiles([makeInstanceFile({ ...restored, seriesDescription: 'Second version' })]);
      await host.runOnce();

      assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
      const study = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
        (candidate) => candidate.identifier?.[0]?.value === `urn:oid:${restored.studyUid}`,
      );
      assert.equal(study?.series?.length, 1);
      assert.equal(study?.series?.[0]?.instance?.length, 1);
      assert.equal(study?.series?.[0]?.description, 'Second version');
    });

    it('is idempotent: a cycle with nothing new writes nothing', async () => {
      stack.fhir!.resetRequestCount();
      await host.runOnce();
      assert.equal(stack.fhir!.requestCounts().transaction ?? 0, 0);
    });
  });
}

describe('bad input on the local stack', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;

  before(async () => {
    stack = await startLocalStack();
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  const spec = (name: string, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
    studyUid: uid('bad', name),
    seriesUid: uid('bad', name, 'series'),
    sopUid: uid('bad', name, 'sop'),
    patientId: `PID-${name}`,
    patientName: 'Bad^Input',
    modality: 'CT',
    ...overrides,
  });

  it('records what is wrong, where, and keeps syncing the other studies', async () => {
    const good = spec('good');
    const noPatientId = spec('no-patient-id', { patientId: '' });
    const badSex = spec('bad-sex', { extra: { '00100040': { vr: 'CS', Value: ['X'] } } });
    const vanished = spec('vanished');
    await stack.dicom!.storeFiles([good, noPatientId, badSex, vanished].map(makeInstanceFile));
    // The feed lists `vanished`, but its metadata reads answer 404 (a server that lost it).
    stack.dicom!.failNext(1000, 404, `/studies/${vanished.studyUid}/metadata`);
    await host.runOnce();
    stack.dicom!.failNext(0, 404);

    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    const synced = studies.map((study) => study.identifier?.[0]?.value);
    assert.ok(synced.includes(`urn:oid:${good.studyUid}`), 'a good study is synced');
    assert.ok(synced.includes(`urn:oid:${badSex.studyUid}`), 'an invalid PatientSex does not stop its study');
    assert.ok(!synced.includes(`urn:oid:${noPatientId.studyUid}`));
    const patients = await stack.fhir!.all<Patient>('Patient');
    assert.equal(patients.find((patient) => patient.identifier?.[0]?.value === badSex.patientId)?.gender, undefined);

    const failures = await (await getRuntime()).failures.list();
    const missingId = failures.find((failure) => failure.study === noPatientId.studyUid);
    assert.equal(missingId?.category, 'bad-dicom-data');
    assert.equal(missingId?.instance, noPatientId.sopUid);
    assert.equal(missingId?.tag, '(0010,0020)');
    assert.match(missingId?.reason ?? '', /PatientID/);
    assert.ok(missingId?.payload, 'the record carries the message, enough to replay it');

    const [sexWarning] = await (await getRuntime()).tagWarnings.list({ study: badSex.studyUid });
    assert.equal(sexWarning?.tag, '(0010,0040)');
    assert.equal(sexWarning?.keyword, 'PatientSex');
    assert.deepEqual(sexWarning?.values, ['X'], 'the warning names the value that was skipped');
    assert.equal(sexWarning?.instances, 1);
    assert.equal(
      failures.filter((failure) => failure.study === badSex.studyUid).length,
      0,
      'a warning is not a failure',
    );

    const notFound = failures.find((failure) => failure.study === vanished.studyUid);
    assert.equal(notFound?.category, 'dicom-not-found');
    assert.equal(notFound?.instance, vanished.sopUid);
    assert.ok(typeof notFound?.sequence === 'number');
  });

  it('a study that keeps failing lands in the poison queue with a failure record, after maxDequeueCount tries', async () => {
    const flaky = spec('flaky');
    await stack.dicom!.storeFiles([makeInstanceFile(flaky)]);
    // No retry budget: each 503 fails its invocation at once instead of being waited out inside it.
    const impatient = new LocalFunctionsHost({
      settings: { ...stack.settings, DicomCast__RetryBudgetSeconds: '0' },
      queueOverrides: { visibilityTimeoutMs: 0 },
    });
    stack.fhir!.failNext(1_000, 503);
    await impatient.runOnce();
    stack.fhir!.failNext(0, 503);

    assert.equal(impatient.writer.stats.poisoned, 1);
    assert.equal(impatient.writer.stats.failed, impatient.hostJson.queues.maxDequeueCount);
    const failures = await (await getRuntime()).failures.list();
    assert.equal(impatient.poison.stats.succeeded, 1, 'the poison function took the message off the poison queue');
    const flakyFailures = failures.filter((failure) => failure.study === flaky.studyUid);
    assert.equal(
      flakyFailures.length,
      1,
      'one failure record, not one from the writer and one from the poison function',
    );
    const gaveUp = flakyFailures[0];
    assert.equal(gaveUp?.category, 'transient');
    assert.equal(gaveUp?.attempts, impatient.hostJson.queues.maxDequeueCount);
    assert.match(gaveUp?.reason ?? '', /poison queue.*503/);
  });
});
