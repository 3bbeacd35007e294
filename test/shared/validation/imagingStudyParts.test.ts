import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, ImagingStudySeries, Patient, Resource } from '@medplum/fhirtypes';
import { validateInParts } from '../../../shared/validation/imagingStudyParts.js';
import { getR4Validator } from '../../../shared/validation/index.js';
import { ValidationCache } from '../../../shared/validation/validationCache.js';

const series = (n: number, instances = 2): ImagingStudySeries => ({
  uid: `1.2.${n}`,
  modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
  instance: Array.from({ length: instances }, (_, i) => ({
    uid: `1.2.${n}.${i}`,
    sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' },
    number: i + 1,
  })),
});

const study = (...all: ImagingStudySeries[]): ImagingStudy => ({
  resourceType: 'ImagingStudy',
  status: 'available',
  subject: { reference: 'Patient/p' },
  series: all,
});

const sorted = (problems: { path: string; message: string }[]) =>
  problems.map((problem) => `${problem.path}: ${problem.message}`).sort();

describe('validateInParts: an ImagingStudy validated series by series', () => {
  const whole = (resource: Resource) => getR4Validator().validate(resource);

  it('finds exactly the problems of the whole resource, at the same paths', () => {
    const bad = series(2);
    bad.instance![0]!.number = 1.5;
    bad.instance![1]!.uid = '';
    (bad.instance![1] as unknown as Record<string, unknown>).foo = 1;
    const invalid = { ...study(series(1), bad, series(3)), status: 'bogus' } as unknown as ImagingStudy;
    const inParts = sorted(validateInParts(invalid, whole));
    assert.deepEqual(inParts, sorted(whole(invalid)));
    assert.ok(inParts.some((problem) => problem.startsWith('ImagingStudy.series[1].instance[0].number')));
    assert.ok(inParts.some((problem) => problem.startsWith('ImagingStudy.status')));
    assert.deepEqual(validateInParts(study(series(1), series(2)), whole), []);
  });

  it('with a content cache, validates again only the series that changed', () => {
    const cache = new ValidationCache();
    const validated: Resource[] = [];
    const check = (resource: Resource) =>
      cache.check(resource, (unchecked) => {
        validated.push(unchecked);
        return whole(unchecked);
      });
    validateInParts(study(series(1), series(2), series(3)), check);
    assert.equal(validated.length, 4, 'the study without series, then each series');
    validated.length = 0;
    validateInParts(study(series(1), series(2, 3), series(3)), check);
    assert.deepEqual(
      validated.map((resource) => (resource as ImagingStudy).series?.[0]?.instance?.length),
      [3],
      'only the series that grew',
    );
  });

  it('skips the series FHIR holds as they are (heldParts), and only those', () => {
    const held = series(1);
    const heldBad = series(2);
    heldBad.instance![0]!.number = 1.5;
    const changedBad = series(3);
    changedBad.instance![0]!.number = 2.5;
    const validated: Resource[] = [];
    const check = (resource: Resource) => {
      validated.push(resource);
      return whole(resource);
    };
    const problems = sorted(validateInParts(study(held, heldBad, changedBad), check, new Set([held, heldBad])));
    assert.equal(validated.length, 2, 'the study without series, then the one series not held');
    assert.equal(problems.length, 1);
    assert.ok(problems[0]?.startsWith('ImagingStudy.series[2].instance[0].number'));
  });

  it('validates any other resource, and a study without series, whole', () => {
    const validated: Resource[] = [];
    const check = (resource: Resource) => {
      validated.push(resource);
      return [];
    };
    const patient: Patient = { resourceType: 'Patient' };
    validateInParts(patient, check);
    validateInParts(study(), check);
    assert.deepEqual(validated, [patient, study()]);
  });
});
