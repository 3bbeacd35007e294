import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid } from '../../../dev/samples/index.js';
import { C, srFile, xRayDoseContent } from '../../support/doseReports.js';

/**
 * Tenant crossing: one StudyInstanceUID in two data partitions is two studies. Each partition's create, update and
 * delete reaches only its own ImagingStudy; the default partition keeps DICOM Cast's identity (`urn:dicom:uid`)
 * and ownership (`meta.source` = the DICOM endpoint), so what DICOM Cast wrote is still found.
 */
describe('one StudyInstanceUID in two partitions (tenant crossing)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  const study = uid('partitions', 'shared-study');
  const partitionB = 'tenant-b';

  before(async () => {
    stack = await startLocalStack({ settings: { DicomWeb__ChangeFeed__PageSize: '10' } });
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  const file = (tenant: string, instance: number, patientId: string, description: string) =>
    makeInstanceFile({
      studyUid: study,
      seriesUid: uid('partitions', tenant, 'series'),
      sopUid: uid('partitions', tenant, 'sop', instance),
      patientId,
      patientName: `${tenant}^Pat`,
      modality: 'MR',
      studyDescription: description,
      instanceNumber: instance,
    });

  async function byPartition(): Promise<{ main?: ImagingStudy; b?: ImagingStudy; all: ImagingStudy[] }> {
    const all = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    const find = (system: string) =>
      all.find((s) => s.identifier?.some((i) => i.system === system && i.value === `urn:oid:${study}`));
    const main = find('urn:dicom:uid');
    const b = find(`urn:dicom-cast:partition:${partitionB}`);
    return { all, ...(main ? { main } : {}), ...(b ? { b } : {}) };
  }
  const patientIdOf = async (imagingStudy: ImagingStudy | undefined) =>
    (await stack.fhir!.all<Patient>('Patient')).find((p) => imagingStudy?.subject.reference === `Patient/${p.id}`)
      ?.identifier?.[0]?.value;

  it('create: two ImagingStudies, each with its partition’s series, subject and owner', async () => {
    await stack.dicom!.storeFiles([file('main', 1, 'PAT-MAIN', 'main study')]);
    await stack.dicom!.storeFiles([file('b', 1, 'PAT-B', 'tenant b study')], partitionB);
    await host.runOnce();

    const { all, main, b } = await byPartition();
    assert.equal(all.length, 2);
    assert.deepEqual(
      main?.series?.map((s) => s.uid),
      [uid('partitions', 'main', 'series')],
    );
    assert.deepEqual(
      b?.series?.map((s) => s.uid),
      [uid('partitions', 'b', 'series')],
    );
    assert.equal(main?.meta?.source, stack.dicomUrl, 'the default partition keeps DICOM Cast’s meta.source');
    assert.equal(b?.meta?.source, `${stack.dicomUrl}/partitions/${partitionB}`);
    assert.equal(await patientIdOf(main), 'PAT-MAIN');
    assert.equal(await patientIdOf(b), 'PAT-B');
  });

  it('update: an instance added in one partition changes only that partition’s ImagingStudy', async () => {
    await stack.dicom!.storeFiles([file('b', 2, 'PAT-B', 'tenant b study, updated')], partitionB);
    await host.runOnce();
    const { main, b } = await byPartition();
    assert.equal(b?.numberOfInstances, 2);
    assert.equal(b?.description, 'tenant b study, updated');
    assert.equal(main?.numberOfInstances, 1);
    assert.equal(main?.description, 'main study');
  });

  it('delete: deleting the study in one partition leaves the other partition’s ImagingStudy', async () => {
    await stack.dicom!.deleteStudy(study, partitionB);
    await host.runOnce();
    let found = await byPartition();
    assert.equal(found.b, undefined);
    assert.equal(found.main?.numberOfInstances, 1);
    assert.equal(await patientIdOf(found.main), 'PAT-MAIN');

    await stack.dicom!.storeFiles([file('b', 3, 'PAT-B', 'tenant b again')], partitionB);
    await stack.dicom!.deleteStudy(study);
    await host.runOnce();
    found = await byPartition();
    assert.equal(found.main, undefined);
    assert.equal(found.b?.numberOfInstances, 1);
    assert.equal(found.all.length, 1);
  });

  it('the same dose report in two partitions: each study gets its own Observations', async () => {
    const doseStudy = uid('partitions', 'dose-study');
    const report = srFile({
      studyUid: doseStudy,
      seriesUid: uid('partitions', 'dose-series'),
      sopUid: uid('partitions', 'dose-report'),
      patientId: 'PAT-DOSE',
      patientName: 'Dose^Dana',
      title: C.xRayDoseReport,
      content: xRayDoseContent(uid('partitions', 'dose-event')),
    });
    await stack.dicom!.storeFiles([report]);
    await host.runOnce();
    await stack.dicom!.storeFiles([report], partitionB);
    await host.runOnce();

    const studies = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).filter((s) =>
      s.identifier?.some((i) => i.value === `urn:oid:${doseStudy}`),
    );
    assert.equal(studies.length, 2);
    const observations = await stack.fhir!.all<Observation>('Observation');
    for (const imagingStudy of studies) {
      const own = observations.filter((o) => o.partOf?.[0]?.reference === `ImagingStudy/${imagingStudy.id ?? ''}`);
      assert.equal(own.length, 2, 'the dose summary and the irradiation event, per partition');
    }
    assert.equal(observations.length, 4);
  });
});
