import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { conditionalCreate, versionedUpdate } from '../../../../shared/fhir/bundleEntries.js';
import { assembleTransaction, positionsOf } from '../../../../shared/mapping/transaction/bundles.js';
import type { PlannedEntry } from '../../../../shared/mapping/transaction/plan.js';

/**
 * The assembler's Bundles: entries ordered by role (what the ImagingStudy references, the ImagingStudy, what stands
 * on its own), split within Fhir:MaxBundleEntries with the fence last, every position derived from the roles.
 */
const resource = (resourceType: 'Endpoint' | 'Patient' | 'ImagingStudy', id: string) =>
  ({ resourceType, id, meta: { versionId: '1' } }) as Resource;
const observation = (id: string, partOf: string): Observation => ({
  resourceType: 'Observation',
  id,
  meta: { versionId: '1' },
  status: 'preliminary',
  code: { text: id },
  partOf: [{ reference: partOf }],
});
const fence: PlannedEntry[] = [
  { entry: versionedUpdate(resource('ImagingStudy', 's')), role: 'imagingStudy' },
  { entry: conditionalCreate(resource('Patient', 'p'), 'urn:uuid:p'), role: 'patient', ifFound: 'conflict' },
  { entry: conditionalCreate(resource('Endpoint', 'e'), 'urn:uuid:e'), role: 'endpoint', ifFound: 'same' },
];
const standalone = (count: number, partOf = 'ImagingStudy/s'): PlannedEntry[] =>
  Array.from({ length: count }, (_, i) => ({
    entry: versionedUpdate(observation(`o${i}`, partOf)),
    role: 'standalone',
  }));
const urls = (entries: PlannedEntry[]) => entries.map((planned) => planned.entry.request?.url);

describe('assembleTransaction', () => {
  it('orders what the ImagingStudy references, then the ImagingStudy, then the standalone entries', () => {
    const transaction = assembleTransaction([...standalone(1), ...fence]);
    assert.deepEqual(urls(transaction.fenced.entries), ['Patient', 'Endpoint', 'ImagingStudy/s', 'Observation/o0']);
    assert.deepEqual(transaction.bundle.entry, transaction.fenced.bundle.entry);
    assert.deepEqual(positionsOf(transaction.fenced.entries), {
      creates: [0, 1],
      fence: { patient: 0, endpoint: 1, imagingStudy: 2 },
    });
  });

  it('split: standalone entries first in Bundles of at most the limit, the fence last with what fits', () => {
    const transaction = assembleTransaction([...fence, ...standalone(7)], 4);
    assert.deepEqual(
      transaction.before.map((part) => urls(part.entries)),
      [
        ['Observation/o0', 'Observation/o1', 'Observation/o2', 'Observation/o3'],
        ['Observation/o4', 'Observation/o5'],
      ],
    );
    assert.deepEqual(urls(transaction.fenced.entries), ['Patient', 'Endpoint', 'ImagingStudy/s', 'Observation/o6']);
    assert.equal(transaction.deferred, 0);
    assert.equal(transaction.bundle.entry?.length, 10);
  });

  it('split: entries that reference what the fence creates go with it; those that do not fit wait (deferred)', () => {
    const creating: PlannedEntry[] = [
      {
        entry: conditionalCreate(resource('ImagingStudy', 's'), 'urn:uuid:s'),
        role: 'imagingStudy',
        ifFound: 'conflict',
      },
    ];
    const transaction = assembleTransaction([...creating, ...standalone(5, 'urn:uuid:s')], 3);
    assert.deepEqual(transaction.before, []);
    assert.deepEqual(urls(transaction.fenced.entries), ['ImagingStudy', 'Observation/o0', 'Observation/o1']);
    assert.equal(transaction.deferred, 3);
  });
});
