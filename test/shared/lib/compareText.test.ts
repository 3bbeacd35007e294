import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareText } from '../../../shared/lib/compareText.js';

describe('compareText', () => {
  it('orders by UTF-16 code unit, not by locale: capitals before small letters, digits as text', () => {
    assert.deepEqual(['b', 'a', 'B', 'é', 'z'].sort(compareText), ['B', 'a', 'b', 'z', 'é']);
    assert.deepEqual(['1.2.10', '1.2.9', '1.2.1'].sort(compareText), ['1.2.1', '1.2.10', '1.2.9']);
  });

  it('is 0 only for the same text, and antisymmetric', () => {
    assert.equal(compareText('1.2.3', '1.2.3'), 0);
    assert.equal(compareText('a', 'b'), -1);
    assert.equal(compareText('b', 'a'), 1);
    assert.equal(compareText('', 'a'), -1);
  });
});
