import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tag } from '../../../../shared/dicomweb/dicomJson.js';
import { buildStudyTransaction } from '../../../../shared/mapping/transaction/studyTransaction.js';
import type { MappingOptions } from '../../../../shared/mapping/types.js';
import { ctDoseReport } from '../../../support/ctDoseReport.js';
import { instance, options as baseOptions, studyUid } from '../../../support/mappingFixtures.js';
import { bundleOf, stateAfter } from '../../../support/studyPlans.js';

/** When our dose Observations are deleted: only when every current instance could be read. */
const options: MappingOptions = { ...baseOptions, generateObservations: true };
const report = ctDoseReport([{ uid: '1.2.3.100.1', ctdiVol: 10, dlp: 50 }], 100);
const image = instance('1.2.3.1', '1.2.3.1.1');
const first = buildStudyTransaction(
  { study: studyUid, datasets: [image, report], state: {}, applyDemographics: true },
  options,
);
const state = stateAfter(bundleOf(first)?.entry ?? []);
const deletes = (datasets: ReturnType<typeof instance>[]) =>
  (
    bundleOf(buildStudyTransaction({ study: studyUid, datasets, state, applyDemographics: false }, options))?.entry ??
    []
  )
    .filter((entry) => entry.request?.method === 'DELETE')
    .map((entry) => entry.request?.url);

describe('planDoseObservations: deletions', () => {
  it('the dose report gone, every other instance readable: its Observations are deleted', () => {
    assert.deepEqual(deletes([image]), ['Observation/id3', 'Observation/id4']);
  });

  it('an instance the screen leaves out (no PatientID) may be that report: nothing is deleted', () => {
    assert.deepEqual(deletes([image, instance('1.2.3.9', '1.2.3.9.7', { [Tag.PatientID]: null })]), []);
  });
});
