import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { studyKey } from '../../../shared/lib/studyKey.js';

describe('studyKey', () => {
  it('is the same for the same partition and study, and for no partition and the empty one', () => {
    assert.equal(studyKey('Microsoft.Default', '1.2.3'), studyKey('Microsoft.Default', '1.2.3'));
    assert.equal(studyKey(undefined, '1.2.3'), studyKey('', '1.2.3'));
  });

  it('tells apart studies and partitions, even where the two joined as text would read the same', () => {
    assert.notEqual(studyKey('p1', '1.2.3'), studyKey('p2', '1.2.3'));
    assert.notEqual(studyKey('p1', '1.2.3'), studyKey('p1', '1.2.4'));
    assert.notEqual(studyKey('a.1', '2'), studyKey('a', '1.2'));
    assert.notEqual(studyKey(undefined, 'p1.2'), studyKey('p1', '.2'));
  });
});
