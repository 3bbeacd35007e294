import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import { startDicomServer, type RunningDicomServer } from '../../dev/dicom-server/index.js';
import { startFhirServer, type RunningFhirServer } from '../../dev/fhir-server/index.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../dev/samples/index.js';

/**
 * A study another DICOM server wrote first (its meta.source) gets our instances added; when one of ours is
 * deleted, only that one leaves the ImagingStudy: the other server's instances are not ours to remove.
 */
describe("instance removal on another server's study", () => {
  let azurite: RunningAzurite;
  let fhir: RunningFhirServer;
  let other: RunningDicomServer;
  let ours: RunningDicomServer;

  before(async () => {
    [azurite, fhir, other, ours] = await Promise.all([
      startAzurite(),
      startFhirServer(),
      startDicomServer(),
      startDicomServer(),
    ]);
  });
  after(async () => {
    await Promise.all([other.close(), ours.close()]);
    await fhir.close();
    await azurite.close();
  });

  const hostFor = (dicom: RunningDicomServer, table: string) =>
    new LocalFunctionsHost({
      settings: {
        AzureWebJobsStorage: azurite.connectionString,
        DicomWeb__Endpoint: dicom.url,
        Fhir__Endpoint: fhir.url,
        DicomCast__Schedule: '0 0 0 1 1 *',
        DicomCast__CheckpointTable: table,
      },
    });
  const spec = (server: string, n: number): InstanceSpec => ({
    studyUid: uid('foreign', 'study'),
    seriesUid: uid('foreign', server, 'series'),
    sopUid: uid('foreign', server, 'sop', n),
    patientId: 'FOREIGN-1',
    patientName: 'Foreign^Study',
    modality: 'CT',
    instanceNumber: n,
  });
  const theStudy = async () => {
    const studies = await fhir.all<ImagingStudy>('ImagingStudy');
    assert.equal(studies.length, 1);
    return studies[0]!;
  };
  const instancesOf = (study: ImagingStudy) =>
    (study.series ?? []).flatMap((series) => series.instance?.map((instance) => instance.uid) ?? []).sort();

  it('removes only our deleted instance and keeps the owner', async () => {
    await other.storeFiles([makeInstanceFile(spec('other', 1))]);
    await hostFor(other, 'CheckpointsOther').runOnce();
    assert.equal((await theStudy()).meta?.source, other.url);

    await ours.storeFiles([makeInstanceFile(spec('ours', 1)), makeInstanceFile(spec('ours', 2))]);
    const host = hostFor(ours, 'CheckpointsOurs');
    await host.runOnce();
    let study = await theStudy();
    assert.equal(study.meta?.source, other.url, 'still the other server’s study');
    assert.deepEqual(
      instancesOf(study),
      [spec('other', 1), spec('ours', 1), spec('ours', 2)].map((s) => s.sopUid).sort(),
    );

    await ours.deleteInstance(spec('ours', 1).studyUid, spec('ours', 1).seriesUid, spec('ours', 1).sopUid);
    await host.runOnce();
    study = await theStudy();
    assert.equal(study.meta?.source, other.url);
    assert.deepEqual(instancesOf(study), [spec('other', 1), spec('ours', 2)].map((s) => s.sopUid).sort());
  });
});
