import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeFeedRow } from '../../../shared/dicomweb/changeFeedRow.js';
import { afterV2Row, sameCheckpoint, startPosition, type V2Checkpoint } from '../../../shared/sync/pollPosition.js';

/** Where the poller starts and how it moves: a wrong step here skips rows for good or reads them again forever. */

const at = (timestamp: string, offset: number, sequence: number): V2Checkpoint => ({
  version: 'v2',
  timestamp,
  offset,
  sequence,
});

function entry(sequence: number, timestamp: string): ChangeFeedRow {
  return {
    sequence,
    timestamp,
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.1',
    sopInstanceUid: `1.2.3.1.${sequence}`,
    action: 'create',
    state: 'current',
  };
}

describe('sameCheckpoint', () => {
  it('nothing stored is never the same as a position', () => {
    assert.equal(sameCheckpoint(undefined, { version: 'v1', sequence: 0 }), false);
  });

  it('v1: the same sequence is the same place, another sequence is not', () => {
    assert.equal(sameCheckpoint({ version: 'v1', sequence: 7 }, { version: 'v1', sequence: 7 }), true);
    assert.equal(sameCheckpoint({ version: 'v1', sequence: 7 }, { version: 'v1', sequence: 8 }), false);
  });

  it('another API version is another place, even at the same sequence', () => {
    assert.equal(sameCheckpoint({ version: 'v1', sequence: 7 }, at('2026-01-01T00:00:00Z', 0, 7)), false);
    assert.equal(sameCheckpoint(at('2026-01-01T00:00:00Z', 0, 7), { version: 'v1', sequence: 7 }), false);
  });

  it('v2: timestamp and offset both count', () => {
    const here = at('2026-01-01T00:00:00Z', 3, 9);
    assert.equal(sameCheckpoint(here, at('2026-01-01T00:00:00Z', 3, 9)), true);
    assert.equal(sameCheckpoint(here, at('2026-01-01T00:00:01Z', 3, 9)), false, 'another timestamp');
    assert.equal(sameCheckpoint(here, at('2026-01-01T00:00:00Z', 4, 9)), false, 'another offset');
    assert.equal(sameCheckpoint(here, at('2026-01-01T00:00:00Z', 3, 10)), false, 'another sequence');
  });
});

describe('startPosition', () => {
  it('v1 starts at the stored sequence, or 0, and skips nothing', () => {
    assert.deepEqual(startPosition('v1', undefined), {
      position: { version: 'v1', sequence: 0 },
      skipThroughSequence: -1,
    });
    assert.deepEqual(startPosition('v1', { version: 'v1', sequence: 41 }), {
      position: { version: 'v1', sequence: 41 },
      skipThroughSequence: -1,
    });
  });

  it('v1 resumes a v2 checkpoint at its sequence', () => {
    assert.deepEqual(startPosition('v1', at('2026-01-01T00:00:00Z', 2, 41)), {
      position: { version: 'v1', sequence: 41 },
      skipThroughSequence: -1,
    });
  });

  it('v2 resumes a v2 checkpoint where it stands (a copy: moving the position leaves the stored one alone)', () => {
    const stored = at('2026-01-01T00:00:00Z', 2, 41);
    const start = startPosition('v2', stored);
    assert.deepEqual(start, { position: at('2026-01-01T00:00:00Z', 2, 41), skipThroughSequence: -1 });
    assert.notEqual(start.position, stored);
  });

  it('v2 without a checkpoint reads from the epoch and skips nothing', () => {
    assert.deepEqual(startPosition('v2', undefined), {
      position: at('1970-01-01T00:00:00Z', 0, 0),
      skipThroughSequence: -1,
    });
  });

  it('v2 after a v1 checkpoint reads from the epoch and drops rows at or below the old sequence', () => {
    assert.deepEqual(startPosition('v2', { version: 'v1', sequence: 41 }), {
      position: at('1970-01-01T00:00:00Z', 0, 41),
      skipThroughSequence: 41,
    });
  });
});

describe('afterV2Row', () => {
  it('a row at the same timestamp counts one more', () => {
    assert.deepEqual(afterV2Row(at('2026-01-01T00:00:00Z', 2, 5), entry(6, '2026-01-01T00:00:00Z')), {
      version: 'v2',
      timestamp: '2026-01-01T00:00:00Z',
      offset: 3,
      sequence: 6,
    });
  });

  it('a new timestamp restarts the count at 1', () => {
    assert.deepEqual(
      afterV2Row(at('2026-01-01T00:00:00Z', 2, 5), entry(6, '2026-01-01T00:00:01Z')),
      at('2026-01-01T00:00:01Z', 1, 6),
    );
  });

  it('the sequence never goes back (a row with a lower one keeps the highest seen)', () => {
    assert.deepEqual(
      afterV2Row(at('2026-01-01T00:00:00Z', 2, 9), entry(4, '2026-01-01T00:00:00Z')),
      at('2026-01-01T00:00:00Z', 3, 9),
    );
  });

  it('a bad row without timestamp or sequence is counted where it stands', () => {
    const bad: ChangeFeedRow = { kind: 'bad', raw: {}, reason: 'no sequence' };
    assert.deepEqual(afterV2Row(at('2026-01-01T00:00:00Z', 2, 9), bad), at('2026-01-01T00:00:00Z', 3, 9));
  });
});
