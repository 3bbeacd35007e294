import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compact } from '../../../shared/mapping/compact.js';

describe('compact', () => {
  const cases: { name: string; input: unknown; expected: unknown }[] = [
    { name: 'keeps a plain value', input: 'a', expected: 'a' },
    { name: 'keeps 0 and false', input: { n: 0, b: false }, expected: { n: 0, b: false } },
    { name: 'drops empty and blank strings', input: { a: '', b: '  ', c: 'x' }, expected: { c: 'x' } },
    { name: 'drops undefined and null', input: { a: undefined, b: null, c: 1 }, expected: { c: 1 } },
    { name: 'drops empty arrays', input: { a: [], b: [1] }, expected: { b: [1] } },
    { name: 'drops empty items of arrays', input: { a: ['', 'x', {}, []] }, expected: { a: ['x'] } },
    { name: 'drops objects emptied by compaction', input: { a: { b: { c: '' } }, d: 1 }, expected: { d: 1 } },
    { name: 'drops arrays emptied by compaction', input: { a: [{ b: [] }] }, expected: undefined },
    { name: 'gives undefined for nothing', input: {}, expected: undefined },
  ];
  for (const { name, input, expected } of cases) {
    it(name, () => assert.deepEqual(compact(input), expected));
  }

  it('does not change its input', () => {
    const input = { a: '', b: { c: [] } };
    compact(input);
    assert.deepEqual(input, { a: '', b: { c: [] } });
  });
});
