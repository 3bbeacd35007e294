import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLatencySweep, rowAtLatency } from '../../bench/latencySweep.js';

describe('parseLatencySweep', () => {
  it('reads whole milliseconds, 0 included, in the order given', () => {
    assert.deepEqual(parseLatencySweep('0,2,5,10'), [0, 2, 5, 10]);
    assert.deepEqual(parseLatencySweep(' 10 , 0 '), [10, 0]);
    assert.deepEqual(parseLatencySweep('5'), [5]);
  });

  it('names the part that is not a whole number of at least 0', () => {
    for (const [text, part] of [
      ['0,-1', '-1'],
      ['2,2.5', '2.5'],
      ['1,,3', ''],
      ['ten', 'ten'],
      ['', ''],
    ] as const) {
      assert.throws(
        () => parseLatencySweep(text),
        (error: Error) => error.message.includes(`"${part}" is not a whole number`) && error.message.includes(text),
        text,
      );
    }
  });

  it('refuses a latency listed twice (one fresh server each, one table row each)', () => {
    assert.throws(() => parseLatencySweep('0,5,2,5'), /5 ms is listed twice in "0,5,2,5"/);
  });
});

describe('rowAtLatency', () => {
  const rows = [
    { latencyMs: 0, ratio: 0.08 },
    { latencyMs: 5, ratio: 0.66 },
  ];

  it('finds the row measured at that latency', () => {
    assert.equal(rowAtLatency(rows, 5)?.ratio, 0.66);
    assert.equal(rowAtLatency(rows, 0)?.ratio, 0.08);
  });

  it('has none when the sweep did not measure that latency (then no check is made)', () => {
    assert.equal(rowAtLatency(rows, 2), undefined);
    assert.equal(rowAtLatency([], 5), undefined);
  });
});
