import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { ResourceProblem } from '../../../shared/errors/errors.js';
import { ValidationCache } from '../../../shared/validation/validationCache.js';
import { validateR4 } from '../../../shared/validation/index.js';

const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });

function countingValidator() {
  const seen: string[] = [];
  const validate = (resource: Resource): ResourceProblem[] => {
    const family = (resource as Patient).name?.[0]?.family ?? '';
    seen.push(family);
    return family === 'bad' ? [{ path: 'Patient.name', message: 'bad name' }] : [];
  };
  return { seen, validate };
}

describe('ValidationCache: a resource validated before costs a hash', () => {
  it('validates the same content once, different content again', () => {
    const cache = new ValidationCache();
    const { seen, validate } = countingValidator();
    assert.deepEqual(cache.check(patient('bad'), validate), [{ path: 'Patient.name', message: 'bad name' }]);
    assert.deepEqual(cache.check(patient('bad'), validate), [{ path: 'Patient.name', message: 'bad name' }]);
    assert.deepEqual(cache.check(patient('good'), validate), []);
    assert.deepEqual(seen, ['bad', 'good']);
  });

  it('gives each caller its own copy of the problems', () => {
    const cache = new ValidationCache();
    const { validate } = countingValidator();
    cache.check(patient('bad'), validate).push({ path: 'x', message: 'added by a caller' });
    assert.equal(cache.check(patient('bad'), validate).length, 1);
  });

  it('keeps at most its capacity, dropping the oldest', () => {
    const cache = new ValidationCache(2);
    const { seen, validate } = countingValidator();
    for (const family of ['a', 'b', 'c', 'c', 'b', 'a']) cache.check(patient(family), validate);
    assert.equal(cache.size, 2);
    assert.deepEqual(seen, ['a', 'b', 'c', 'a']);
  });

  it('the process validator answers a repeated invalid resource with the same problems', () => {
    const invalid = { resourceType: 'Patient', gender: 'unknown-value' } as unknown as Patient;
    const first = validateR4(invalid);
    assert.ok(first.length > 0);
    assert.deepEqual(validateR4(invalid), first);
  });
});
