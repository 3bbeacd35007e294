import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceProblem } from '../../../../shared/errors/errors.js';
import { emptyReport, issueFailure, localFullUrl, resourceCheck } from '../../../../shared/mapping/transaction/plan.js';
import { studyUid } from '../../../support/mappingFixtures.js';

const patient: Resource = { resourceType: 'Patient' };

describe('resourceCheck: a resource that is not valid R4 becomes an invalid-resource failure', () => {
  const problems = (count: number): ResourceProblem[] =>
    Array.from({ length: count }, (_, index) => ({ path: `Patient.name[${index}]`, message: `bad ${index}` }));

  it('names the resource and every problem, up to five', () => {
    const report = emptyReport();
    const found = problems(5);
    const check = resourceCheck(
      { study: studyUid, datasets: [], state: {}, applyDemographics: true, validate: () => found },
      report,
    );
    assert.equal(check(patient, 'Patient |PID-1'), false);
    assert.deepEqual(report.failures, [
      {
        category: 'invalid-resource',
        reason:
          'Patient |PID-1 is not valid FHIR R4: Patient.name[0]: bad 0; Patient.name[1]: bad 1; ' +
          'Patient.name[2]: bad 2; Patient.name[3]: bad 3; Patient.name[4]: bad 4',
        study: studyUid,
        resource: 'Patient |PID-1',
        problems: found,
      },
    ]);
  });

  it('more than five: the first five and how many more (every problem is kept in the record)', () => {
    const report = emptyReport();
    const found = problems(7);
    const check = resourceCheck(
      { study: studyUid, datasets: [], state: {}, applyDemographics: true, validate: () => found },
      report,
    );
    assert.equal(check(patient, 'Patient |PID-1'), false);
    assert.match(report.failures[0]?.reason ?? '', /Patient\.name\[4\]: bad 4; … 2 more$/);
    assert.doesNotMatch(report.failures[0]?.reason ?? '', /bad 5/);
    assert.equal(report.failures[0]?.problems?.length, 7);
  });

  it('no problem, or no validator: passes, nothing recorded', () => {
    const report = emptyReport();
    const input = { study: studyUid, datasets: [], state: {}, applyDemographics: true };
    assert.equal(resourceCheck({ ...input, validate: () => [] }, report)(patient, 'Patient'), true);
    assert.equal(resourceCheck(input, report)(patient, 'Patient'), true);
    assert.deepEqual(report.failures, []);
  });
});

describe('issueFailure: a tag error as the failure recorded', () => {
  const issue = {
    severity: 'error' as const,
    study: studyUid,
    tag: '(0008,0060)',
    keyword: 'Modality',
    reason: 'required tag is missing or empty',
  };

  it('locates it (series, instance, change-feed sequence) and quotes the value when there is one', () => {
    assert.deepEqual(issueFailure({ ...issue, series: '1.2.3.1', instance: '1.2.3.1.1', value: 'M R' }, 9), {
      category: 'bad-dicom-data',
      reason: 'required tag is missing or empty: "M R"',
      study: studyUid,
      series: '1.2.3.1',
      instance: '1.2.3.1.1',
      tag: '(0008,0060)',
      sequence: 9,
    });
  });

  it('without a value, location or sequence: none of them in the record', () => {
    assert.deepEqual(issueFailure(issue, undefined), {
      category: 'bad-dicom-data',
      reason: 'required tag is missing or empty',
      study: studyUid,
      tag: '(0008,0060)',
    });
  });
});

describe('localFullUrl', () => {
  const uuid = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('is a name-based (version 5 form) UUID URN, the same for the same identity', () => {
    for (const identity of [
      ['Patient', '', 'PID-1'],
      ['Endpoint', 'https://dicom.example.com'],
      ['Observation', 'x'],
    ]) {
      assert.match(localFullUrl(...identity), uuid);
      assert.equal(localFullUrl(...identity), localFullUrl(...identity));
    }
  });

  it('tells identities apart, also where only the split between their parts differs', () => {
    assert.notEqual(localFullUrl('Patient', 'a', 'bc'), localFullUrl('Patient', 'ab', 'c'));
    assert.notEqual(localFullUrl('Patient', '', 'PID-1'), localFullUrl('Patient', '', 'PID-2'));
  });
});
