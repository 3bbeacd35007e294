import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachLimited } from '../../../shared/lib/concurrency.js';

describe('forEachLimited', () => {
  it('keeps at most `parallelism` in flight and handles every item once', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      done.push(item);
      inFlight--;
    });
    assert.equal(most, 3);
    assert.deepEqual(
      done.sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('takes no new item after a failure, and rejects with the first failure once the others settled', async () => {
    const started: number[] = [];
    let settled = 0;
    const error = await forEachLimited([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started.push(item);
      await new Promise((resolve) => setTimeout(resolve, item === 1 ? 1 : 20));
      settled++;
      if (item <= 2) throw new Error(`item ${item}`);
    }).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.equal((error as Error).message, 'item 1');
    assert.deepEqual(started, [1, 2]);
    assert.equal(settled, 2, 'rejected only after the item in flight settled');
  });

  it('does nothing for no items', async () => {
    let calls = 0;
    await forEachLimited([], 4, async () => {
      calls++;
    });
    assert.equal(calls, 0);
  });
});
