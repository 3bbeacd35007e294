import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastOverFirstQuarter, quarterOf } from '../../bench/flatness.js';

describe('lastOverFirstQuarter', () => {
  it('compares the mean of the last quarter of the polls with the mean of the first quarter', () => {
    // 8 polls: quarters of 2, (1 + 3) / 2 = 2 first, (5 + 7) / 2 = 6 last; the middle does not count.
    assert.equal(lastOverFirstQuarter([1, 3, 100, 100, 100, 100, 5, 7]), 3);
    assert.equal(lastOverFirstQuarter([2, 2, 2, 2]), 1);
  });

  it('takes at least one poll at each end, so short runs still compare', () => {
    assert.equal(quarterOf(3), 1);
    assert.equal(quarterOf(20), 5);
    assert.equal(lastOverFirstQuarter([2, 9, 3]), 1.5);
    assert.equal(lastOverFirstQuarter([4]), 1);
  });

  it('is NaN where a ratio means nothing: no polls, or a first quarter that is not positive', () => {
    assert.ok(Number.isNaN(lastOverFirstQuarter([])));
    assert.ok(Number.isNaN(lastOverFirstQuarter([0, 1, 2, 3])));
    assert.ok(Number.isNaN(lastOverFirstQuarter([-1, 1, 2, 3])));
  });
});
