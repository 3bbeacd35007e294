import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { badRowFailure, badSourceRowFailure, unencodableMessageFailure } from '../../../shared/sync/pollFailures.js';

/** The failure records of what the poller skips: each names what was wrong and keeps what replays it. */

describe('badRowFailure', () => {
  it('names the sequence, the reason and where the row points, and keeps the raw row', () => {
    const raw = { Sequence: 12, Action: 'Explode' };
    assert.deepEqual(
      badRowFailure({
        kind: 'bad',
        sequence: 12,
        study: '1.2',
        series: '1.2.3',
        instance: '1.2.3.4',
        raw,
        reason: 'Action "Explode" is not create, update or delete',
      }),
      {
        category: 'bad-change-feed-entry',
        reason: 'Change feed entry sequence 12 skipped: Action "Explode" is not create, update or delete',
        study: '1.2',
        series: '1.2.3',
        instance: '1.2.3.4',
        sequence: 12,
        payload: raw,
      },
    );
  });

  it('a misplaced row is named by the sequence it reported', () => {
    const failure = badRowFailure({ kind: 'bad', reportedSequence: 99, raw: {}, reason: 'above latest' });
    assert.equal(failure.reason, 'Change feed entry sequence 99 skipped: above latest');
    assert.equal(failure.sequence, 99);
  });

  it('a row without a readable sequence says so and names no place it does not have', () => {
    assert.deepEqual(badRowFailure({ kind: 'bad', raw: 'garbage', reason: 'not an object' }), {
      category: 'bad-change-feed-entry',
      reason: 'Change feed entry with no readable sequence skipped: not an object',
      payload: 'garbage',
    });
  });

  it('sequence 0 is a sequence', () => {
    const failure = badRowFailure({ kind: 'bad', sequence: 0, raw: {}, reason: 'bad' });
    assert.equal(failure.reason, 'Change feed entry sequence 0 skipped: bad');
    assert.equal(failure.sequence, 0);
  });
});

describe('badSourceRowFailure', () => {
  it('keeps the reason, the sequence and the raw row', () => {
    assert.deepEqual(badSourceRowFailure({ sequence: 0, reason: 'not a change', raw: { Seq: 0 } }), {
      category: 'bad-change-feed-entry',
      reason: 'not a change',
      sequence: 0,
      payload: { Seq: 0 },
    });
    assert.deepEqual(badSourceRowFailure({ reason: 'no Seq', raw: {} }), {
      category: 'bad-change-feed-entry',
      reason: 'no Seq',
      payload: {},
    });
  });
});

describe('unencodableMessageFailure', () => {
  it('records the error where it happened, the newest sequence and the first 100 changes of the message', () => {
    const changes = Array.from({ length: 150 }, (_, i) => ({
      series: '1.2.3',
      sop: `1.2.3.${i}`,
      action: 'create' as const,
      sequence: i + 1,
      state: 'current' as const,
    }));
    const message: StudyMessage = { study: '1.2', changes, maxSequence: 150 };
    const error = new NonRetryableError('Study message is too large', 'bad-change-feed-entry', { study: '1.2' });
    const failure = unencodableMessageFailure(message, error);
    assert.equal(failure.category, 'bad-change-feed-entry');
    assert.equal(failure.study, '1.2');
    assert.match(failure.reason, /too large/);
    assert.equal(failure.sequence, 150);
    assert.deepEqual(failure.payload, { study: '1.2', maxSequence: 150, changes: changes.slice(0, 100) });
  });
});
