import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { buildStudyTransaction } from '../../../../shared/mapping/transaction/studyTransaction.js';
import { instance, options, studyUid } from '../../../support/mappingFixtures.js';
import { bundleOf } from '../../../support/studyPlans.js';

describe('planEndpoint', () => {
  it('an Endpoint that is not valid R4: nothing is sent, the failure names this DICOM server’s Endpoint', () => {
    const validate = (resource: Resource) =>
      resource.resourceType === 'Endpoint' ? [{ path: 'Endpoint.address', message: 'bad' }] : [];
    const plan = buildStudyTransaction(
      { study: studyUid, datasets: [instance('1.2.3.1', '1.2.3.1.1')], state: {}, applyDemographics: true, validate },
      options,
    );
    assert.equal(plan.action, 'invalid');
    assert.equal(bundleOf(plan), undefined);
    assert.deepEqual(
      plan.failures.map((failure) => [failure.category, failure.resource]),
      [['invalid-resource', 'Endpoint https://dicom.example.com']],
    );
  });
});
