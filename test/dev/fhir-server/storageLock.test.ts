import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageLock } from '../../../dev/fhir-server/storageLock.js';

/** Runs tasks under the lock and records when each starts and ends, by name. */
function recorder() {
  const events: string[] = [];
  const task =
    (name: string, ms: number, fail = false) =>
    async () => {
      events.push(`${name}+`);
      await sleep(ms);
      events.push(`${name}-`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
  return { events, task };
}

describe('StorageLock: writes alone, reads together between writes, first come first served', () => {
  it('reads queued together run together', async () => {
    const lock = new StorageLock();
    const { events, task } = recorder();
    await Promise.all([lock.read(task('r1', 20)), lock.read(task('r2', 5))]);
    assert.deepEqual(events, ['r1+', 'r2+', 'r2-', 'r1-']);
  });

  it('a write waits for the reads before it; reads after it wait for the write', async () => {
    const lock = new StorageLock();
    const { events, task } = recorder();
    await Promise.all([
      lock.read(task('r1', 15)),
      lock.write(task('w', 5)),
      lock.read(task('r2', 5)),
      lock.read(task('r3', 5)),
    ]);
    assert.deepEqual(events.slice(0, 4), ['r1+', 'r1-', 'w+', 'w-']);
    assert.deepEqual(events.slice(4, 6).sort(), ['r2+', 'r3+']);
  });

  it('writes run one at a time in order', async () => {
    const lock = new StorageLock();
    const { events, task } = recorder();
    await Promise.all([lock.write(task('w1', 15)), lock.write(task('w2', 5)), lock.write(task('w3', 1))]);
    assert.deepEqual(events, ['w1+', 'w1-', 'w2+', 'w2-', 'w3+', 'w3-']);
  });

  it('a task that fails rejects its caller only; what is queued after it runs', async () => {
    const lock = new StorageLock();
    const { events, task } = recorder();
    const failing = lock.write(task('w1', 5, true));
    const read = lock.read(task('r', 1));
    const write = lock.write(task('w2', 1));
    await assert.rejects(failing, /w1 failed/);
    assert.equal(await read, 'r');
    assert.equal(await write, 'w2');
    assert.deepEqual(events, ['w1+', 'w1-', 'r+', 'r-', 'w2+', 'w2-']);
  });
});
