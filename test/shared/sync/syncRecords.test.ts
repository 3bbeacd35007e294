import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceSequences } from '../../../shared/sync/syncRecords.js';
import { change, studyMessage } from '../../support/studySync.js';

describe('instanceSequences: the newest change-feed sequence of each instance a message names', () => {
  it('the highest of each instance’s rows, whatever their order', () => {
    const sequences = instanceSequences(studyMessage(change(1, 5), change(2, 3), change(1, 2), change(2, 7)));
    assert.deepEqual([...sequences.entries()].sort(), [
      ['1.2.3.1.1', 5],
      ['1.2.3.1.2', 7],
    ]);
  });

  it('keeps a sequence of 0 as it is (the message format allows it; it is never raised to 1)', () => {
    assert.deepEqual([...instanceSequences(studyMessage(change(1, 0))).entries()], [['1.2.3.1.1', 0]]);
  });

  it('nothing for a message without changes (a resync)', () => {
    assert.equal(instanceSequences(studyMessage()).size, 0);
  });
});
