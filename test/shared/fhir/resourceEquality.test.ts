import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { sameContent } from '../../../shared/fhir/resourceEquality.js';

/** What the comparison must agree with: equal as JSON with sorted keys, server-managed meta left out. */
function sameAsJson(a: Resource, b: Resource): boolean {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  };
  const comparable = ({ meta, ...rest }: Resource) =>
    JSON.stringify(
      canonical({ ...rest, meta: meta ? { ...meta, versionId: undefined, lastUpdated: undefined } : undefined }),
    );
  return comparable(a) === comparable(b);
}

const loose = (value: object) => value as Resource;

describe('sameContent', () => {
  const study: ImagingStudy = {
    resourceType: 'ImagingStudy',
    meta: { versionId: '2', lastUpdated: '2026-01-01T00:00:00Z', source: 'https://dicom' },
    status: 'available',
    subject: { reference: 'Patient/p' },
    numberOfInstances: 0,
    series: [{ uid: '1.2', modality: { code: 'CT' }, instance: [{ uid: '1.2.1', sopClass: { code: '1.2.840' } }] }],
  };

  const cases: [string, Resource, Resource][] = [
    ['the same object', study, study],
    ['a copy', study, structuredClone(study)],
    [
      'another version',
      study,
      { ...study, meta: { ...study.meta, versionId: '3', lastUpdated: '2027-01-01T00:00:00Z' } },
    ],
    [
      'meta with only a versionId vs none',
      { ...study, meta: { versionId: '2' } },
      loose({ ...study, meta: undefined }),
    ],
    ['another source vs no meta', study, loose({ ...study, meta: undefined })],
    ['an empty meta vs none', loose({ ...study, meta: {} }), loose({ ...study, meta: undefined })],
    ['another source', study, { ...study, meta: { ...study.meta, source: 'https://other' } }],
    ['an undefined property', study, loose({ ...study, description: undefined })],
    ['a property more', study, { ...study, description: 'CT' }],
    ['a property fewer', study, loose({ ...study, numberOfInstances: undefined })],
    ['0 vs false', study, loose({ ...study, numberOfInstances: false })],
    ['0 vs "0"', study, loose({ ...study, numberOfInstances: '0' })],
    ['0 vs null', study, loose({ ...study, numberOfInstances: null })],
    ['an array vs an object', loose({ ...study, series: [] }), loose({ ...study, series: {} })],
    ['an object vs null', study, loose({ ...study, subject: null })],
    ['an item more', study, { ...study, series: [...(study.series ?? []), ...(study.series ?? [])] }],
    ['items in another order', loose({ ...study, x: [1, 2] }), loose({ ...study, x: [2, 1] })],
    [
      'an undefined item vs null (JSON writes both as null)',
      loose({ ...study, x: [undefined] }),
      loose({ ...study, x: [null] }),
    ],
    ['a nested change', study, { ...study, series: [{ ...study.series![0]!, uid: '1.3' }] }],
    ['keys in another order', study, loose(Object.fromEntries(Object.entries(study).reverse()))],
  ];

  for (const [name, a, b] of cases) {
    it(`${name}: ${sameAsJson(a, b) ? 'same' : 'different'}, as JSON says, both ways`, () => {
      assert.equal(sameContent(a, b), sameAsJson(a, b));
      assert.equal(sameContent(b, a), sameAsJson(b, a));
    });
  }

  it('has both outcomes among the cases (the oracle is not constant)', () => {
    const outcomes = new Set(cases.map(([, a, b]) => sameAsJson(a, b)));
    assert.deepEqual([...outcomes].sort(), [false, true]);
  });

  it('a Patient differing only in a nested given name order is a change', () => {
    const patient: Patient = { resourceType: 'Patient', name: [{ given: ['A', 'B'] }] };
    assert.equal(sameContent(patient, { ...patient, name: [{ given: ['B', 'A'] }] }), false);
  });
});
