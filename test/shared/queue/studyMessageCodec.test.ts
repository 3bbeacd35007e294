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

describe('decodeStudyMessage: what a hand-made or replayed message is checked for', () => {
  const change: InstanceChange = {
    series: '1.2.3.1',
    sop: '1.2.3.1.1',
    action: 'create',
    sequence: 4,
    state: 'current',
  };
  const valid: StudyMessage = { study: '1.2.3', changes: [change], maxSequence: 4 };
  const envelope = (payload: unknown) => ({ dicomCast: { version: 1, kind: 'study', payload } });
  const failure = (body: unknown): NonRetryableError => {
    try {
      decodeStudyMessage(body);
    } catch (error) {
      assert.ok(error instanceof NonRetryableError, String(error));
      return error;
    }
    return assert.fail('expected a failure');
  };

  it('UIDs by the DICOM grammar, saying what is wrong with each', () => {
    assert.match(
      failure(envelope({ ...valid, study: '1.2/../3' })).message,
      /dicomCast\.payload\.study: "1\.2\/\.\.\/3" is not a UID \(only digits and dots\)/,
    );
    assert.match(
      failure(envelope({ ...valid, changes: [{ ...change, series: '1..2' }] })).message,
      /dicomCast\.payload\.changes\.0\.series: "1\.\.2" is not a UID \(empty component\)/,
    );
  });

  it('the partition by the DICOM service’s rule, dots-only names refused', () => {
    assert.match(
      failure(envelope({ ...valid, partition: 'a/b' })).message,
      /dicomCast\.payload\.partition: "a\/b" is not a partition name/,
    );
    assert.match(failure(envelope({ ...valid, partition: '..' })).message, /"\.\." is not a usable partition name/);
    assert.deepEqual(decodeStudyMessage(envelope({ ...valid, partition: 'Part-1.a_b' })), {
      ...valid,
      partition: 'Part-1.a_b',
    });
  });

  it('bytes and base64 that are not UTF-8 are refused, never read with U+FFFD in a UID', () => {
    const latin1 = Buffer.from(
      JSON.stringify(envelope({ ...valid, study: '1.2.3' })).replace('"study"', '"st\u00fcdy"'),
      'latin1',
    );
    for (const body of [new Uint8Array(latin1), latin1.toString('base64')]) {
      assert.equal(failure(body).message, 'Malformed study message: the body is not valid UTF-8');
    }
  });

  it('base64 with anything after its padding is not base64', () => {
    const text = Buffer.from(JSON.stringify(envelope(valid))).toString('base64');
    assert.equal(decodeStudyMessage(text).study, '1.2.3');
    assert.match(failure(`${text}!`).message, /neither JSON nor base64/);
  });

  it('counts the problems beyond the third exactly', () => {
    const text = failure(
      envelope({
        study: '1.2.3',
        partition: '..',
        changes: 'none',
        maxSequence: -1,
        omittedChanges: 0,
        traceparent: 7,
      }),
    ).message;
    assert.match(text, /; and 2 more \(study 1\.2\.3\)$/);
  });

  it('an envelope without a payload, or a study too long to be a UID: still a located NonRetryableError', () => {
    assert.match(failure({ dicomCast: { version: 1, kind: 'study' } }).message, /dicomCast\.payload/);
    const long = '1'.repeat(300);
    const error = failure(envelope({ ...valid, study: long }));
    assert.equal(error.location.study, long.slice(0, 128));
  });
});

describe('encodeStudyMessage: the series of the changes it leaves out', () => {
  const changesIn = (seriesCount: number, perSeries: number, uidOf: (s: number) => string): InstanceChange[] =>
    Array.from({ length: seriesCount * perSeries }, (_, i) => ({
      series: uidOf(Math.floor(i / perSeries)),
      sop: `${uidOf(Math.floor(i / perSeries))}.${i}`,
      action: 'create' as const,
      sequence: 1_000 + i,
      state: 'current' as const,
    }));

  it('names every series a left-out change is in, and only those (the writer then reads just those series)', () => {
    // Series 0 and 1 are the oldest: their changes go first.
    const changes = changesIn(4, 300, (s) => `${study}.${s}`);
    const decoded = decodeStudyMessage(encodeStudyMessage({ study, maxSequence: 2_199, changes }));
    assert.ok((decoded.omittedChanges ?? 0) > 0);
    const kept = new Set(decoded.changes.map((change) => change.sop));
    const leftOut = new Set(changes.filter((change) => !kept.has(change.sop)).map((change) => change.series));
    assert.deepEqual(decoded.omittedSeries, [...leftOut]);
    assert.ok(leftOut.size >= 1);
  });

  it('leaves them out when they do not fit, and stays under the limit', () => {
    // 1000 series of 60-character UIDs are more than the message holds.
    const long = (s: number) => `${study}.${String(s).padStart(60 - study.length - 1, '9')}`;
    const changes = changesIn(1000, 1, long);
    const text = encodeStudyMessage({ study, maxSequence: 1_999, changes });
    assert.ok(text.length <= maxEncodedMessageChars);
    const decoded = decodeStudyMessage(text);
    assert.ok((decoded.omittedChanges ?? 0) > 0);
    assert.equal(decoded.omittedSeries, undefined);
  });

  it('a small message has none', () => {
    const changes = changesIn(2, 2, (s) => `${study}.${s}`);
    assert.equal(
      decodeStudyMessage(encodeStudyMessage({ study, maxSequence: 1_003, changes })).omittedSeries,
      undefined,
    );
  });
});
