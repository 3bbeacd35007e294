import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import type { InstanceChange, StudyMessage } from '../../../shared/queue/studyMessage.js';
import {
  decodeStudyMessage,
  encodeStudyMessage,
  maxEncodedMessageChars,
} from '../../../shared/queue/studyMessageCodec.js';

const study = '1.2.826.0.1.3680043.8.498.7';
/** The JSON the queue text is the base64 of may be this long: 3 bytes of JSON per 4 characters of base64. */
const maxJsonBytes = (maxEncodedMessageChars / 4) * 3;
const envelopeBytes = (message: StudyMessage) =>
  Buffer.byteLength(JSON.stringify({ dicomCast: { version: 1, kind: 'study', payload: message } }));

/**
 * A study message whose envelope is exactly `bytes` long: as many changes as fit, then the SOP Instance UIDs
 * lengthened (a UID has at most 64 characters) until the size is met.
 */
function messageOfExactly(bytes: number): StudyMessage {
  const change = (i: number): InstanceChange => ({
    series: `${study}.1`,
    sop: `${study}.1.${i + 1}`,
    action: 'create',
    sequence: 1000 + i,
    state: 'current',
  });
  const changes: InstanceChange[] = [];
  const message = (): StudyMessage => ({ study, changes, maxSequence: 1000 + changes.length - 1 });
  while (envelopeBytes(message()) < bytes - 400) changes.push(change(changes.length));
  let missing = bytes - envelopeBytes(message());
  for (const item of changes) {
    const room = Math.min(64 - item.sop.length - 1, missing - 1);
    if (room < 1) continue;
    item.sop = `${item.sop}.${'1'.repeat(room)}`;
    missing = bytes - envelopeBytes(message());
    if (missing === 0) break;
  }
  assert.equal(envelopeBytes(message()), bytes, 'the fixture has the size it should');
  return message();
}

describe('encodeStudyMessage at the size limit', () => {
  it('a message exactly at the limit is sent whole; one byte more and the oldest changes are left out', () => {
    const atLimit = messageOfExactly(maxJsonBytes);
    const text = encodeStudyMessage(atLimit);
    assert.equal(text.length, maxEncodedMessageChars);
    assert.deepEqual(decodeStudyMessage(text), atLimit);

    const over = messageOfExactly(maxJsonBytes + 1);
    const trimmed = decodeStudyMessage(encodeStudyMessage(over));
    assert.ok((trimmed.omittedChanges ?? 0) >= 1);
    assert.equal(trimmed.changes.length + (trimmed.omittedChanges ?? 0), over.changes.length);
    assert.equal(trimmed.changes[0]?.sequence, over.changes[trimmed.omittedChanges ?? 0]?.sequence, 'the oldest go');
    assert.equal(trimmed.maxSequence, over.maxSequence);
  });

  it('refuses, as bad data naming the study, a message that cannot fit even without its changes', () => {
    const absurd = `${study}.${'1'.repeat(70_000)}`;
    assert.throws(
      () => encodeStudyMessage({ study: absurd, changes: [], maxSequence: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof NonRetryableError, String(error));
        assert.equal(error.category, 'bad-change-feed-entry');
        assert.match(
          error.message,
          /^A study message cannot be made to fit in a queue message \(\d+ bytes without any change\)/,
        );
        assert.equal(error.location.study, `"${absurd.slice(0, 64)}"… (${absurd.length} characters)`);
        return true;
      },
    );
  });
});

describe('decodeStudyMessage: the whole error text', () => {
  const envelope = (payload: unknown) => ({ dicomCast: { version: 1, kind: 'study', payload } });
  const messageOf = (body: unknown) => {
    try {
      decodeStudyMessage(body);
    } catch (error) {
      assert.ok(error instanceof NonRetryableError, String(error));
      return error.message;
    }
    return assert.fail('expected a failure');
  };

  it('one problem: named by its path, nothing appended', () => {
    assert.match(
      messageOf(envelope({ study: '1.2.3', changes: [], maxSequence: -1 })),
      /^Malformed study message: dicomCast\.payload\.maxSequence: [^;]*>= ?0 \(study 1\.2\.3\)$/,
    );
  });

  it('exactly three problems: all three, and no "more"', () => {
    const text = messageOf(envelope({ study: '1.2.3', changes: 'none', maxSequence: -1, omittedChanges: 0 }));
    assert.equal(text.split('; ').length, 3, text);
    assert.doesNotMatch(text, /more/);
  });
});
