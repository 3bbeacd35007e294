import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { Tag, type DicomJsonAttribute, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import { patientIdentifier, patientSearchParams, toPatient } from '../../../shared/mapping/patient.js';
import { attr, emptyPaths, instance, options, pn } from '../../support/mappingFixtures.js';

function dataset(extra: Record<string, DicomJsonAttribute | null>): DicomJsonDataset {
  return instance('1.2.3.4', '1.2.3.4.5', extra);
}

describe('patientIdentifier', () => {
  it('uses Patient:PatientSystemId', () => {
    assert.deepEqual(patientIdentifier(dataset({}), { ...options, patientSystemId: 'urn:oid:9.9' }), {
      system: 'urn:oid:9.9',
      value: 'PID-1',
    });
  });

  it('uses IssuerOfPatientID when IsIssuerIdUsed', () => {
    const withIssuer = dataset({ [Tag.IssuerOfPatientID]: attr('LO', 'HOSP') });
    const settings = { ...options, patientSystemId: 'ignored', isIssuerIdUsed: true };
    assert.deepEqual(patientIdentifier(withIssuer, settings), { system: 'HOSP', value: 'PID-1' });
    assert.deepEqual(patientIdentifier(dataset({}), settings), { system: '', value: 'PID-1' });
  });

  it('trims PatientID and accepts a number', () => {
    assert.equal(patientIdentifier(dataset({ [Tag.PatientID]: attr('LO', ' 42 ') }), options).value, '42');
    assert.equal(patientIdentifier(dataset({ [Tag.PatientID]: attr('LO', 42) }), options).value, '42');
  });

  for (const [name, value] of [
    ['absent', null],
    ['empty', attr('LO')],
    ['blank', attr('LO', '  ')],
  ] as const) {
    it(`throws a bad-dicom-data error naming the tag when PatientID is ${name}`, () => {
      assert.throws(
        () => patientIdentifier(dataset({ [Tag.PatientID]: value }), options),
        (error: unknown) =>
          error instanceof NonRetryableError &&
          error.category === 'bad-dicom-data' &&
          error.location.tag === '(0010,0020)' &&
          error.location.study === '1.2.3' &&
          error.location.instance === '1.2.3.4.5',
      );
    });
  }
});

describe('patientSearchParams', () => {
  const rows: [{ system: string; value: string }, string][] = [
    [{ system: 'urn:oid:9.9', value: 'PID-1' }, 'urn:oid:9.9|PID-1'],
    [{ system: '', value: 'PID-1' }, '|PID-1'],
    [{ system: 'S', value: 'a,b|c$d\\e' }, 'S|a\\,b\\|c\\$d\\\\e'],
  ];
  for (const [identifier, expected] of rows) {
    it(`${JSON.stringify(identifier)} → ${expected}`, () =>
      assert.deepEqual(patientSearchParams(identifier), { identifier: expected }));
  }
});

describe('toPatient', () => {
  const create = { applyDemographics: true };
  const map = (extra: Record<string, DicomJsonAttribute | null>, existing?: Patient, context = create) =>
    toPatient(dataset(extra), existing, options, context);

  it('creates a Patient with the identifier, name, gender and birth date', () => {
    const { patient, issues } = map({
      [Tag.PatientName]: pn('Doe^John'),
      [Tag.PatientSex]: attr('CS', 'M'),
      [Tag.PatientBirthDate]: attr('DA', '19800102'),
    });
    assert.deepEqual(patient, {
      resourceType: 'Patient',
      identifier: [{ value: 'PID-1' }],
      name: [{ use: 'usual', family: 'Doe', given: ['John'] }],
      gender: 'male',
      birthDate: '1980-01-02',
    });
    assert.deepEqual(issues, []);
  });

  it('puts a non-empty system on the new identifier', () => {
    const { patient } = toPatient(dataset({}), undefined, { ...options, patientSystemId: 'urn:oid:9.9' }, create);
    assert.deepEqual(patient.identifier, [{ system: 'urn:oid:9.9', value: 'PID-1' }]);
  });

  describe('gender', () => {
    const rows: [DicomJsonAttribute | null, Patient['gender'], number][] = [
      [attr('CS', 'M'), 'male', 0],
      [attr('CS', 'F'), 'female', 0],
      [attr('CS', 'O'), 'other', 0],
      [attr('CS'), undefined, 0],
      [null, undefined, 0],
      [attr('CS', 'X'), 'unknown', 1],
      [attr('CS', 'male'), 'unknown', 1],
    ];
    for (const [sex, gender, warnings] of rows) {
      it(`PatientSex ${JSON.stringify(sex?.Value)} → ${gender}`, () => {
        const existing: Patient = { resourceType: 'Patient', id: 'p1', gender: 'unknown' };
        const { patient, issues } = map({ [Tag.PatientSex]: sex }, existing);
        assert.equal(patient.gender, gender);
        assert.equal(issues.length, warnings);
      });
    }

    it('describes the warning', () => {
      const { issues } = map({ [Tag.PatientSex]: attr('CS', 'X') });
      assert.deepEqual(issues, [
        {
          severity: 'warning',
          study: '1.2.3',
          series: '1.2.3.4',
          instance: '1.2.3.4.5',
          tag: '(0010,0040)',
          keyword: 'PatientSex',
          value: 'X',
          reason: 'not M, F or O',
        },
      ]);
    });

    it('makes the issue an error when validation is enforced', () => {
      const { issues } = toPatient(
        dataset({ [Tag.PatientSex]: attr('CS', 'X') }),
        undefined,
        { ...options, enforceValidation: true },
        create,
      );
      assert.equal(issues[0]?.severity, 'error');
    });
  });

  describe('birthDate', () => {
    const existing: Patient = { resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01' };
    const rows: [string, DicomJsonAttribute | null, boolean, string | undefined, number][] = [
      ['YYYYMMDD', attr('DA', '19800102'), true, '1980-01-02', 0],
      ['YYYY.MM.DD', attr('DA', '1980.01.02'), true, '1980-01-02', 0],
      ['invalid keeps the old one', attr('DA', '19801302'), true, '1970-01-01', 1],
      ['empty removes it', attr('DA'), true, undefined, 0],
      ['absent removes it', null, true, undefined, 0],
      ['not applied outside create/update', attr('DA', '19800102'), false, '1970-01-01', 0],
      ['not checked outside create/update', attr('DA', 'bad'), false, '1970-01-01', 0],
    ];
    for (const [name, value, applyDemographics, expected, warnings] of rows) {
      it(name, () => {
        const { patient, issues } = map({ [Tag.PatientBirthDate]: value }, existing, { applyDemographics });
        assert.equal(patient.birthDate, expected);
        assert.equal(issues.length, warnings);
      });
    }
  });

  describe('an existing Patient', () => {
    const existing: Patient = {
      resourceType: 'Patient',
      id: 'p1',
      meta: { versionId: '3' },
      identifier: [{ system: 'urn:mrn', value: 'MRN-7' }, { value: 'PID-1' }],
      name: [
        { use: 'official', family: 'Official' },
        { use: 'usual', family: 'Old', given: ['Name'] },
        { use: 'nickname', given: ['Johnny'] },
      ],
      telecom: [{ system: 'phone', value: '123' }],
    };

    it('keeps identifiers and other names, and replaces the usual name in place', () => {
      const { patient } = map({ [Tag.PatientName]: pn('Doe^John') }, existing);
      assert.deepEqual(patient, {
        ...existing,
        name: [
          { use: 'official', family: 'Official' },
          { use: 'usual', family: 'Doe', given: ['John'] },
          { use: 'nickname', given: ['Johnny'] },
        ],
      });
    });

    it('appends a usual name when it had none', () => {
      const { patient } = map(
        { [Tag.PatientName]: pn('Doe^John') },
        { ...existing, name: [{ use: 'official', family: 'X' }] },
      );
      assert.deepEqual(patient.name, [
        { use: 'official', family: 'X' },
        { use: 'usual', family: 'Doe', given: ['John'] },
      ]);
    });

    it('removes the usual name when the data has none (`^` only)', () => {
      const { patient } = map({ [Tag.PatientName]: pn('^^^') }, existing);
      assert.deepEqual(patient.name, [
        { use: 'official', family: 'Official' },
        { use: 'nickname', given: ['Johnny'] },
      ]);
    });

    it('does not change the object it was given', () => {
      const copy = structuredClone(existing);
      map({ [Tag.PatientName]: pn('Doe^John'), [Tag.PatientSex]: attr('CS', 'F') }, existing);
      assert.deepEqual(existing, copy);
    });
  });

  it('never writes empty values', () => {
    const { patient } = map(
      { [Tag.PatientName]: pn('^'), [Tag.PatientSex]: attr('CS', ''), [Tag.PatientBirthDate]: attr('DA', '') },
      {
        resourceType: 'Patient',
        name: [{ use: 'usual', family: 'Old' }],
      },
    );
    assert.deepEqual(emptyPaths(patient), []);
    assert.deepEqual(patient, { resourceType: 'Patient' });
  });

  it('writes an ideographic-only name as text', () => {
    const { patient } = map({ [Tag.PatientName]: attr('PN', { Ideographic: '山田^太郎' }) });
    assert.deepEqual(patient.name, [{ use: 'usual', text: '山田 太郎' }]);
  });
});
