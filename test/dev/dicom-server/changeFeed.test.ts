import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeFeedLog, rowState, toEntry, type InstanceIdentity } from '../../../dev/dicom-server/changeFeed.js';
import { SeededRandom } from '../../../dev/samples/index.js';

const identity = (n: number): InstanceIdentity => ({ partition: 'p', study: '1', series: '2', sop: `3.${n}` });

/** A brute-force model: every row remembers its instance; states computed by scanning the whole history. */
interface ModelRow {
  sequence: number;
  timestampMs: number;
  sop: number;
  action: 'create' | 'update' | 'delete';
}

function modelState(rows: readonly ModelRow[], row: ModelRow): string {
  const later = rows.filter((other) => other.sop === row.sop && other.sequence > row.sequence);
  const last = later.at(-1) ?? row;
  if (last.action === 'delete') return 'deleted';
  return later.length === 0 ? 'current' : 'replaced';
}

void describe('ChangeFeedLog', () => {
  void it('agrees with a brute-force model on states, sequence windows and time windows', () => {
    for (const seed of [1, 2, 3]) {
      const random = new SeededRandom(seed);
      let now = 1_700_000_000_000;
      const log = new ChangeFeedLog(
        () => (random.next() < 0.2 ? random.int(1, 30) : 0),
        () => new Date(now),
      );
      const model: ModelRow[] = [];
      const live = new Set<number>();
      for (let step = 0; step < 600; step++) {
        if (random.next() < 0.3) now += random.int(1, 3);
        const sop = random.int(0, 40);
        const choice = random.next();
        let action: ModelRow['action'];
        if (live.has(sop) && choice < 0.25) {
          action = 'delete';
          live.delete(sop);
          log.recordDelete(identity(sop), 'f');
        } else if (live.has(sop) && choice < 0.5) {
          action = 'update';
          log.recordWrite('update', identity(sop), { marker: { vr: 'LO', Value: [`v${step}`] } }, 'f');
        } else {
          action = 'create';
          live.add(sop);
          log.recordWrite('create', identity(sop), { marker: { vr: 'LO', Value: [`v${step}`] } }, 'f');
        }
        const row = log.latest()!;
        model.push({ sequence: row.sequence, timestampMs: row.timestampMs, sop, action });
      }
      const last = model.at(-1)!;
      for (let trial = 0; trial < 200; trial++) {
        const offset = random.int(0, last.sequence + 5);
        const limit = random.int(1, 100);
        const expected = model.filter((r) => r.sequence > offset && r.sequence <= offset + limit);
        const actual = log.sequenceWindow(offset, limit);
        assert.deepEqual(
          actual.map((r) => r.sequence),
          expected.map((r) => r.sequence),
        );
        assert.deepEqual(
          actual.map(rowState),
          expected.map((r) => modelState(model, r)),
        );
      }
      for (let trial = 0; trial < 200; trial++) {
        const start = model[0]!.timestampMs + random.int(-2, 300);
        const end = start + random.int(1, 300);
        const offset = random.int(0, 50);
        const limit = random.int(1, 200);
        const expected = model
          .filter((r) => r.timestampMs >= start && r.timestampMs < end)
          .slice(offset, offset + limit);
        assert.deepEqual(
          log.timeWindow(start, end, offset, limit).map((r) => r.sequence),
          expected.map((r) => r.sequence),
        );
      }
    }
  });

  void it('gives rows the current metadata of their instance, none once deleted', () => {
    const log = new ChangeFeedLog(
      () => 0,
      () => new Date(0),
    );
    const first = log.recordWrite('create', identity(1), { a: { vr: 'LO', Value: ['old'] } }, 'f');
    log.recordWrite('update', identity(1), { a: { vr: 'LO', Value: ['new'] } }, 'f');
    assert.deepEqual(toEntry(first, true).metadata, { a: { vr: 'LO', Value: ['new'] } });
    assert.equal(toEntry(first, false).metadata, undefined);
    log.recordDelete(identity(1), 'f');
    assert.equal(toEntry(first, true).metadata, undefined);
    assert.equal(toEntry(first, true).state, 'deleted');
  });

  void it('never lets timestamps go back when the clock does', () => {
    const times = [5000, 3000, 7000];
    const log = new ChangeFeedLog(
      () => 0,
      () => new Date(times.shift() ?? 0),
    );
    for (let i = 0; i < 3; i++) log.recordWrite('create', identity(i), {}, 'f');
    assert.deepEqual(
      log.sequenceWindow(0, 10).map((r) => r.timestampMs),
      [5000, 5000, 7000],
    );
  });

  void it('reads a page of a 200,000-row feed without scanning it', () => {
    const log = new ChangeFeedLog(
      () => 0,
      () => new Date(0),
    );
    for (let i = 0; i < 200_000; i++) log.recordWrite('create', identity(i % 5000), {}, 'f');
    const started = performance.now();
    for (let i = 0; i < 2_000; i++) {
      log.sequenceWindow(190_000 + i, 100);
      log.timeWindow(0, 1, 150_000 + i, 200);
    }
    assert.ok(performance.now() - started < 500, 'windows should cost O(log n + page)');
  });
});
