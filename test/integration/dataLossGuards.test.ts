import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../dev/samples/index.js';
import { getRuntime } from '../../shared/runtime/runtime.js';

/** End to end on the local stack (change feed → queue → FHIR through the real handlers): paths where a bug loses data. */
describe('data-loss guards end to end', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;

  before(async () => {
    stack = await startLocalStack();
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  const spec = (name: string, n: number, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
    studyUid: uid('guard', name, 'study'),
    seriesUid: uid('guard', name, 'series'),
    sopUid: uid('guard', name, 'sop', n),
    patientId: `GUARD-${name}`,
    patientName: 'Guard^Test',
    modality: 'CT',
    instanceNumber: n,
    ...overrides,
  });
  const studyOf = async (name: string) =>
    (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
      (study) => study.identifier?.[0]?.value === `urn:oid:${uid('guard', name, 'study')}`,
    );
  const instancesOf = (study: ImagingStudy | undefined) =>
    study?.series?.flatMap((series) => series.instance?.map((instance) => instance.uid) ?? []).sort();

  it('keeps the ImagingStudy when the metadata read comes back 404 while the feed lists current instances', async () => {
    const dicom = stack.dicom!;
    const one = spec('404', 1);
    await dicom.storeFiles([makeInstanceFile(one)]);
    await host.runOnce();
    const before = await studyOf('404');
    assert.deepEqual(instancesOf(before), [one.sopUid]);

    // The feed now lists instance 2 as current; the study's metadata read answers 404 (a glitch, or a delete in flight).
    const two = spec('404', 2);
    await dicom.storeFiles([makeInstanceFile(two)]);
    dicom.failNext(1, 404, `/studies/${one.studyUid}/metadata`);
    await host.runOnce();

    const after = await studyOf('404');
    assert.ok(after, 'the ImagingStudy was not deleted over an empty read');
    assert.equal(after.id, before?.id);
    assert.deepEqual(instancesOf(after), [one.sopUid]);
    const failures = (await (await getRuntime()).failures.list()).filter((f) => f.study === one.studyUid);
    assert.deepEqual(
      failures.map((f) => [f.category, f.instance]),
      [['dicom-not-found', two.sopUid]],
      'the listed-but-missing instance is recorded, with its sequence, for replay',
    );
    assert.equal(typeof failures[0]?.sequence, 'number');
  });

  it('a bulk update of PatientName and PatientBirthDate reaches the existing Patient', async () => {
    const dicom = stack.dicom!;
    const one = spec('demographics', 1, { patientName: 'Before^Bea', birthDate: '19700101' });
    await dicom.storeFiles([makeInstanceFile(one)]);
    await host.runOnce();
    const patientOf = async () =>
      (await stack.fhir!.all<Patient>('Patient')).find((p) => p.identifier?.some((i) => i.value === one.patientId));
    const created = await patientOf();
    assert.equal(created?.birthDate, '1970-01-01');
    assert.equal(created?.name?.[0]?.family, 'Before');

    await dicom.bulkUpdate([one.studyUid], {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'After^Abe' }] },
      '00100030': { vr: 'DA', Value: ['19800202'] },
    });
    await host.runOnce();

    const updated = await patientOf();
    assert.equal(updated?.id, created?.id, 'the same Patient, updated');
    assert.equal(updated?.name?.[0]?.family, 'After');
    assert.deepEqual(updated?.name?.[0]?.given, ['Abe']);
    assert.equal(updated?.birthDate, '1980-02-02', 'the birth date follows an update row');
  });
});
