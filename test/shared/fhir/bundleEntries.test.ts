import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BundleEntry } from '@medplum/fhirtypes';
import { splitTransaction, transactionOf } from '../../../shared/fhir/bundleEntries.js';

/**
 * How a transaction larger than Fhir:MaxBundleEntries is split: the fence last, what references a resource the fence
 * creates travels with it or waits (counted as deferred), entries keep their order. The writer's use of it:
 * test/shared/mapping/transaction/bundles.test.ts, test/shared/sync/sendTransaction.test.ts.
 */
const fenceEntry = (n: number): BundleEntry => ({
  fullUrl: `urn:uuid:fence-${n}`,
  resource: { resourceType: 'Patient' },
  request: { method: 'POST', url: 'Patient' },
});
const dependentOn = (n: number): BundleEntry => ({
  resource: { resourceType: 'Observation', status: 'final', code: {}, subject: { reference: `urn:uuid:fence-${n}` } },
  request: { method: 'POST', url: 'Observation' },
});
const independent: BundleEntry = {
  resource: { resourceType: 'Observation', status: 'final', code: {} },
  request: { method: 'POST', url: 'Observation' },
};

describe('splitTransaction', () => {
  it('exactly maxEntries entries, dependents among them: one Bundle, nothing deferred', () => {
    const entries = [independent, dependentOn(1), fenceEntry(1)];
    assert.deepEqual(splitTransaction(entries, [2], 3), { chunks: [], fenced: [0, 1, 2], deferred: 0 });
  });

  it('dependents that do not fit wait with every independent entry, counted as deferred', () => {
    const entries = [dependentOn(1), independent, dependentOn(1), fenceEntry(1), fenceEntry(2)];
    assert.deepEqual(splitTransaction(entries, [3, 4], 3), { chunks: [], fenced: [0, 3, 4], deferred: 2 });
  });

  it('independent entries go first in chunks; the fenced Bundle keeps the entries in their order', () => {
    const entries = [fenceEntry(1), independent, independent, independent, fenceEntry(2), independent];
    assert.deepEqual(splitTransaction(entries, [4, 0], 3), { chunks: [[1, 2, 3]], fenced: [0, 4, 5], deferred: 0 });
  });

  it('transactionOf makes a transaction Bundle of the entries', () => {
    assert.deepEqual(transactionOf([independent]), {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [independent],
    });
  });
});
