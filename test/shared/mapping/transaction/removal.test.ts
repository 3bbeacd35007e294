import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { buildStudyTransaction } from '../../../../shared/mapping/transaction/studyTransaction.js';
import { instance, options, studyUid } from '../../../support/mappingFixtures.js';
import { bundleOf, stateAfter } from '../../../support/studyPlans.js';

describe('buildStudyTransaction: no instance left', () => {
  const first = buildStudyTransaction(
    { study: studyUid, datasets: [instance('1.2.3.1', '1.2.3.1.1')], state: {}, applyDemographics: true },
    options,
  );
  const state = stateAfter(bundleOf(first)?.entry ?? []);

  it('our study: the plan carries the removal of its ImagingStudy, If-Match on the version read', () => {
    const plan = buildStudyTransaction({ study: studyUid, datasets: [], state, applyDemographics: false }, options);
    assert.equal(plan.action, 'remove');
    const removal = plan.action === 'remove' ? plan.removal : undefined;
    assert.deepEqual(
      bundleOf(removal ?? { action: 'absent' })?.entry?.map((entry) => entry.request),
      [{ method: 'DELETE', url: 'ImagingStudy/id2', ifMatch: 'W/"1"' }],
    );
  });

  it('another server’s study: kept', () => {
    const foreign = {
      ...state,
      imagingStudy: { ...(state.imagingStudy as ImagingStudy), meta: { source: 'https://x' } },
    };
    const plan = buildStudyTransaction(
      { study: studyUid, datasets: [], state: foreign, applyDemographics: false },
      options,
    );
    assert.deepEqual(plan.action === 'remove' ? plan.removal : undefined, { action: 'not-owned' });
  });
});
