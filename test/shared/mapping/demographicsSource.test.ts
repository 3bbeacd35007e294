import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { Tag } from '../../../shared/dicomweb/dicomJson.js';
import {
  demographicsSourceUrl,
  feedPosition,
  planDemographics,
  recordedSource,
  withDemographicsSource,
  type RecordedDemographicsSource,
} from '../../../shared/mapping/demographicsSource.js';
import { buildStudyTransaction } from '../../../shared/mapping/transaction/studyTransaction.js';
import { bundleOf, fencedPositions } from '../../support/studyPlans.js';
import { validateR4 } from '../../../shared/validation/index.js';
import { attr, instance, options, pn, shuffle } from '../../support/mappingFixtures.js';

const feed = 'https://dicom.example';
const recorded = (source: Omit<RecordedDemographicsSource, 'feed'>, patientFeed = feed): Patient =>
  withDemographicsSource(
    { resourceType: 'Patient', id: 'p1', meta: { versionId: '3' }, name: [{ use: 'usual', family: 'Old' }] },
    { feed: patientFeed, ...source },
  );

describe('planDemographics', () => {
  it('a new Patient takes everything and records the position', () => {
    assert.deepEqual(planDemographics(undefined, { feed, study: 'A', sequence: 7 }), {
      nameAndSex: true,
      birthDate: true,
      record: { feed, sequence: 7, study: 'A', birthDateSequence: 7 },
    });
  });

  it('a newer study entry sets name and sex and moves the record forward; an older one sets nothing', () => {
    const patient = recorded({ sequence: 50, study: 'B', birthDateSequence: 10 });
    assert.deepEqual(planDemographics(patient, { feed, study: 'A', sequence: 60 }), {
      nameAndSex: true,
      birthDate: false,
      record: { feed, sequence: 60, study: 'A', birthDateSequence: 10 },
    });
    assert.deepEqual(planDemographics(patient, { feed, study: 'A', sequence: 40 }), {
      nameAndSex: false,
      birthDate: false,
    });
  });

  it('a redelivered old message of the study that set the Patient never moves the record back', () => {
    const patient = recorded({ sequence: 50, study: 'A' });
    assert.deepEqual(planDemographics(patient, { feed, study: 'A', sequence: 20 }), {
      nameAndSex: false,
      birthDate: false,
    });
    // The same entry again (a duplicate delivery) may write: it carries the same position.
    assert.equal(planDemographics(patient, { feed, study: 'A', sequence: 50 }).nameAndSex, true);
  });

  it('breaks a tie of sequences between studies by study UID, the same way whatever the order', () => {
    const byA = recorded({ sequence: 50, study: '1.2.9' });
    const byB = recorded({ sequence: 50, study: '1.2.10' });
    assert.equal(planDemographics(byA, { feed, study: '1.2.10', sequence: 50 }).nameAndSex, false);
    assert.equal(planDemographics(byB, { feed, study: '1.2.9', sequence: 50 }).nameAndSex, true);
  });

  it('orders birthDate by the update entries alone, so an older update still sets it after a newer store', () => {
    // A store at 110 set name and sex first; the bulk update of the birth date at 100 was processed after it.
    const patient = recorded({ sequence: 110, study: 'A', birthDateSequence: 5 });
    assert.deepEqual(planDemographics(patient, { feed, study: 'B', sequence: 100, updateSequence: 100 }), {
      nameAndSex: false,
      birthDate: true,
      record: { feed, sequence: 110, study: 'A', birthDateSequence: 100 },
    });
    const after = recorded({ sequence: 110, study: 'A', birthDateSequence: 100 });
    assert.equal(planDemographics(after, { feed, study: 'B', sequence: 90, updateSequence: 90 }).birthDate, false);
  });

  it('without a recorded position (a person, an old DICOM Cast, another DICOM server) the write goes through', () => {
    const plain: Patient = { resourceType: 'Patient', id: 'p1' };
    assert.deepEqual(planDemographics(plain, { feed, study: 'A', sequence: 3 }), {
      nameAndSex: true,
      birthDate: false,
      record: { feed, sequence: 3, study: 'A' },
    });
    const otherFeed = recorded({ sequence: 900, study: 'A' }, 'https://other-dicom.example');
    assert.equal(recordedSource(otherFeed, feed), undefined);
    assert.equal(planDemographics(otherFeed, { feed, study: 'A', sequence: 3 }).nameAndSex, true);
  });

  it('a message without a position (resync) leaves a recorded Patient alone and records nothing', () => {
    assert.deepEqual(planDemographics(recorded({ sequence: 5, study: 'A' }), { feed, study: 'B' }), {
      nameAndSex: false,
      birthDate: false,
    });
    assert.deepEqual(planDemographics({ resourceType: 'Patient' }, { feed, study: 'B' }), {
      nameAndSex: true,
      birthDate: false,
    });
  });

  it('records the source as one extension, replacing the old one and keeping others', () => {
    const patient = withDemographicsSource(
      { resourceType: 'Patient', extension: [{ url: 'http://example.org/x', valueString: 'kept' }] },
      { feed, sequence: 1, study: 'A' },
    );
    const again = withDemographicsSource(patient, { feed, sequence: 9, study: 'B', birthDateSequence: 9 });
    assert.deepEqual(
      again.extension?.map((extension) => extension.url),
      ['http://example.org/x', demographicsSourceUrl],
    );
    assert.deepEqual(recordedSource(again, feed), { feed, sequence: 9, study: 'B', birthDateSequence: 9 });
    assert.deepEqual(validateR4(again), []);
  });
});

describe('feedPosition', () => {
  it("takes the message's newest sequence and its newest update action's; a resync message has none", () => {
    const change = (sequence: number, action: 'create' | 'update' | 'delete') => ({
      series: '1',
      sop: `${sequence}`,
      sequence,
      action,
      state: 'current' as const,
    });
    const changes = [change(4, 'update'), change(9, 'create'), change(6, 'update'), change(7, 'delete')];
    assert.deepEqual(feedPosition({ changes, maxSequence: 9 }), { sequence: 9, updateSequence: 6 });
    assert.deepEqual(feedPosition({ changes: [change(3, 'create')], maxSequence: 3 }), { sequence: 3 });
    assert.deepEqual(feedPosition({ changes: [], maxSequence: 0 }), {});
  });
});

describe('Patient demographics of the newest study, whatever the processing order', () => {
  const settings = { ...options, endpoint: feed };
  const studies = [
    { study: '1.2.3.1', sequence: 30, name: 'Newest^Ann', sex: 'F' },
    { study: '1.2.3.2', sequence: 20, name: 'Middle^Bob', sex: 'M' },
    { study: '1.2.3.3', sequence: 10, name: 'Oldest^Cid', sex: 'M' },
  ];

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`order ${seed}: the Patient ends with the name and sex of the study with the newest entry`, () => {
      let patient: Patient | undefined;
      for (const { study, sequence, name, sex } of shuffle(studies, seed)) {
        const dataset = instance('1.2.3.1', `${study}.1`, {
          [Tag.StudyInstanceUID]: attr('UI', study),
          [Tag.PatientName]: pn(name),
          [Tag.PatientSex]: attr('CS', sex),
        });
        const plan = buildStudyTransaction(
          {
            study,
            datasets: [dataset],
            sequences: new Map([[`${study}.1`, sequence]]),
            state: patient ? { patient } : {},
            applyDemographics: !patient,
            feedPosition: { sequence },
          },
          settings,
        );
        const written = bundleOf(plan)?.entry?.[fencedPositions(plan).fence.patient ?? -1]?.resource as
          Patient | undefined;
        if (written) patient = { ...written, id: 'p1' };
      }
      assert.deepEqual(patient?.name?.[0]?.family, 'Newest');
      assert.equal(patient?.gender, 'female');
      assert.equal(recordedSource(patient, feed)?.sequence, 30);
    });
  }
});
