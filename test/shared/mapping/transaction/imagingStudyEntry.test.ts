import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { Tag, type DicomJsonDataset } from '../../../../shared/dicomweb/dicomJson.js';
import type { FhirStudyState } from '../../../../shared/mapping/transaction/plan.js';
import { buildStudyRemoval } from '../../../../shared/mapping/transaction/removal.js';
import { buildStudyTransaction } from '../../../../shared/mapping/transaction/studyTransaction.js';
import { instance, options, studyUid } from '../../../support/mappingFixtures.js';
import { bundleOf, storedStudyState } from '../../../support/studyPlans.js';

/** How mapStudy and planImagingStudy decide the ImagingStudy the transaction writes (through the assembler). */
const ct = (sop: string, extra: Parameters<typeof instance>[2] = {}) => instance('1.2.3.1', sop, extra);
const noModality = { [Tag.Modality]: null };

/** FHIR after our transaction for `sops` on an empty server, the ImagingStudy stored with `meta`. */
const stored = (sops: string[], meta: ImagingStudy['meta']): FhirStudyState =>
  storedStudyState(sops, { subject: { reference: 'Patient/p1' }, ...(meta ? { meta } : {}) });

function plan(datasets: DicomJsonDataset[], state: FhirStudyState, sequences?: Map<string, number>) {
  return buildStudyTransaction(
    { study: studyUid, datasets, state, applyDemographics: false, ...(sequences ? { sequences } : {}) },
    options,
  );
}

const writtenStudy = (result: ReturnType<typeof plan>) =>
  bundleOf(result)?.entry?.find((entry) => entry.resource?.resourceType === 'ImagingStudy')?.resource as
    ImagingStudy | undefined;

describe('mapStudy: every current instance rejected by the mapping', () => {
  it('our study whose listed instances are gone is kept, not deleted, while the server holds instances', () => {
    // FHIR lists 1.1 (since deleted); the server holds 1.2 and 1.3, which have no Modality.
    const state = stored(['1.1'], { versionId: '2', source: options.endpoint });
    const sequences = new Map([
      ['1.2', 7],
      ['1.3', 8],
    ]);
    const result = plan([ct('1.2', noModality), ct('1.3', noModality)], state, sequences);
    assert.equal(result.action, 'keep');
    assert.equal(bundleOf(result), undefined);
    assert.equal(result.rejectedInstances, 2);
    assert.deepEqual(
      result.failures.map((failure) => [failure.category, failure.instance, failure.tag, failure.sequence]),
      [
        ['bad-dicom-data', '1.2', '(0008,0060)', 7],
        ['bad-dicom-data', '1.3', '(0008,0060)', 8],
      ],
    );
  });

  it('as when the screen rejects them all (no PatientID): the same answer either way', () => {
    const state = stored(['1.1'], { versionId: '2', source: options.endpoint });
    const result = plan([ct('1.2', { [Tag.PatientID]: null })], state);
    assert.equal(result.action, 'keep');
    assert.equal(result.rejectedInstances, 1);
    assert.deepEqual(
      result.failures.map((failure) => [failure.category, failure.instance, failure.tag]),
      [['bad-dicom-data', '1.2', '(0010,0020)']],
    );
  });

  it('listed instances that are now rejected keep their entries, and the study its Patient (none wins)', () => {
    const state = stored(['1.1', '1.2'], { versionId: '2', source: options.endpoint });
    const result = plan([ct('1.1', noModality), ct('1.2', noModality)], state);
    assert.equal(result.action, 'write');
    const study = writtenStudy(result);
    assert.deepEqual(
      study?.series?.flatMap((series) => series.instance?.map((i) => i.uid)),
      ['1.1', '1.2'],
    );
    assert.equal(study?.subject.reference, 'Patient/p1');
    assert.deepEqual(
      bundleOf(result)?.entry?.map((entry) => entry.request?.method),
      ['PUT'],
    );
    assert.equal(result.rejectedInstances, 2);
  });
});

describe('mapStudy: a study someone else wrote', () => {
  it('without meta.source (a person, or DICOM Cast before ownership): updated without claiming it', () => {
    const state = stored(['1.1'], { versionId: '3' });
    const result = plan([ct('1.1'), ct('1.2')], state);
    assert.equal(result.action, 'write');
    const study = writtenStudy(result);
    assert.ok(study);
    assert.equal(study.meta?.source, undefined);
    assert.equal(study.meta?.versionId, '3');
    // So once our instances are gone, it is not ours to delete.
    const after: FhirStudyState = { ...state, imagingStudy: { ...study, id: 's1' } };
    assert.equal(buildStudyRemoval(after, options).action, 'not-owned');
  });

  it('with another server’s meta.source: keeps it, and the rest of its meta', () => {
    const tag = [{ system: 'urn:example:tags', code: 'reviewed' }];
    const state = stored(['1.1'], { versionId: '3', source: 'https://other.example.com', tag });
    const study = writtenStudy(plan([ct('1.2')], state));
    assert.deepEqual(study?.meta, { versionId: '3', source: 'https://other.example.com', tag });
  });
});

describe('planImagingStudy: the validator is told which series FHIR holds as they are', () => {
  it('with series reads, the series kept as read are held parts; the series rebuilt are not', () => {
    const state = stored(['1.1'], { versionId: '2', source: options.endpoint });
    const heldSeries = state.imagingStudy?.series?.[0];
    // A second series, read now: its instances are rebuilt.
    const other = (sop: string) => instance('1.2.3.2', sop);
    const told: (ReadonlySet<object> | undefined)[] = [];
    const result = buildStudyTransaction(
      {
        study: studyUid,
        datasets: [other('2.1')],
        state,
        applyDemographics: false,
        readSeries: new Set(['1.2.3.2']),
        validate: (resource, heldParts) => {
          if (resource.resourceType === 'ImagingStudy') told.push(heldParts);
          return [];
        },
      },
      options,
    );
    const [kept, rebuilt] = writtenStudy(result)?.series ?? [];
    assert.equal(kept, heldSeries, 'the series not read is the object FHIR holds');
    assert.equal(told.length, 1);
    assert.equal(told[0]?.has(kept as object), true);
    assert.equal(told[0]?.has(rebuilt as object), false);
  });
});
