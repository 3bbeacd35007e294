import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitRatios } from '../../bench/limitRatio.js';

describe('limitRatios', () => {
  it('sets the rates against each other, so runs of different sizes compare', () => {
    // Ours: 5,000 instances in 10 s (500/s) on 4 CPU s; straight: 5,050 in 5.05 s (1,000/s) on 1.01 CPU s.
    const ratios = limitRatios(
      { instances: 5000, ms: 10_000, cpuMs: 4000 },
      { instances: 5050, ms: 5050, cpuMs: 1010 },
    );
    assert.equal(ratios.wallClock, 0.5);
    assert.equal(ratios.perCpuSecond, 0.25);
  });

  it('is 1 when ours is as fast as the limit, above 1 when faster', () => {
    const same = { instances: 100, ms: 2000, cpuMs: 500 };
    assert.deepEqual(limitRatios(same, same), { wallClock: 1, perCpuSecond: 1 });
    const faster = limitRatios({ instances: 100, ms: 1000, cpuMs: 250 }, same);
    assert.deepEqual(faster, { wallClock: 2, perCpuSecond: 2 });
  });

  it('keeps wall-clock and CPU apart: a busy machine stretches the one, not the other', () => {
    const ratios = limitRatios({ instances: 100, ms: 8000, cpuMs: 1000 }, { instances: 100, ms: 2000, cpuMs: 1000 });
    assert.equal(ratios.wallClock, 0.25);
    assert.equal(ratios.perCpuSecond, 1);
  });
});
