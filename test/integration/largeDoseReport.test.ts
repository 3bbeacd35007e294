import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Observation } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid } from '../../dev/samples/index.js';
import { C, srFile, U, xRayDoseContent, type ContentSpec } from '../support/doseReports.js';

/**
 * A fluoroscopy dose report with 1,200 irradiation events is 1,201 Observations: more than the 500 entries AHDS
 * takes in one Bundle (the azure profile answers 400 above it). Writing and removing the study must stay within
 * the limit and still end with exactly the DICOM server's state.
 */
describe('a dose report larger than the FHIR server takes in one Bundle (azure profile, 500 entries)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  const events = 1200;
  const study = uid('large-dose', 'study');

  before(async () => {
    stack = await startLocalStack({
      fhirProfile: 'azure',
      settings: { DicomCast__Features__GenerateObservations: 'true', Fhir__MaxBundleEntries: '500' },
    });
    host = new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  function fluoroscopyContent(): ContentSpec[] {
    const [procedure, accumulated, firstEvent] = xRayDoseContent(uid('large-dose', 'event', 0));
    const more = Array.from({ length: events - 1 }, (_, index): ContentSpec => ({
      type: 'CONTAINER',
      concept: C.xRayEvent,
      children: [
        { type: 'UIDREF', concept: C.eventUid, uid: uid('large-dose', 'event', index + 1) },
        { type: 'CODE', concept: C.targetRegion, code: C.abdomen },
        { type: 'NUM', concept: C.eventDap, value: '0.00003', units: U.gyM2 },
      ],
    }));
    return [procedure, accumulated, firstEvent, ...more] as ContentSpec[];
  }

  const observations = () => stack.fhir!.all<Observation>('Observation');

  it('writes 1,201 Observations in Bundles of at most 500, the ImagingStudy last; a replay changes nothing', async () => {
    await stack.dicom!.storeFiles([
      makeInstanceFile({
        studyUid: study,
        seriesUid: uid('large-dose', 'series', 1),
        sopUid: uid('large-dose', 'image'),
        patientId: 'FLUORO-1',
        patientName: 'Fluoro^Flo',
        modality: 'XA',
      }),
      srFile({
        studyUid: study,
        seriesUid: uid('large-dose', 'series', 2),
        sopUid: uid('large-dose', 'report'),
        patientId: 'FLUORO-1',
        patientName: 'Fluoro^Flo',
        title: C.xRayDoseReport,
        content: fluoroscopyContent(),
      }),
    ]);
    await host.runOnce();

    const written = await observations();
    assert.equal(written.length, events + 1, 'the dose summary and one Observation per event');
    const [imagingStudy] = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.equal(imagingStudy?.numberOfInstances, 2);
    const partOf = new Set(written.map((observation) => observation.partOf?.[0]?.reference));
    assert.deepEqual([...partOf], [`ImagingStudy/${imagingStudy?.id ?? ''}`]);
    const identities = new Set(written.map((observation) => observation.identifier?.[0]?.value));
    assert.equal(identities.size, events + 1, 'no Observation twice');

    await stack.dicom!.bulkUpdate([study], {});
    await host.runOnce();
    assert.equal((await observations()).length, events + 1);
  });

  it('removes the study: the Observations in Bundles of at most 500 first, the ImagingStudy last', async () => {
    await stack.dicom!.deleteStudy(study);
    await host.runOnce();
    assert.deepEqual(await observations(), []);
    assert.deepEqual(await stack.fhir!.all<ImagingStudy>('ImagingStudy'), []);
  });
});
