import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeFeedEntry } from '../../shared/dicomweb/changeFeedEntry.js';
import { NonRetryableError } from '../../shared/errors/errors.js';
import { buildStudyMessages } from '../../shared/queue/buildStudyMessages.js';
import type { StudyMessage } from '../../shared/queue/studyMessage.js';
import { decodeStudyMessage, encodeStudyMessages } from '../../shared/queue/studyMessageCodec.js';

function entry(sequence: number, study: string, sop: string, extra: Partial<ChangeFeedEntry> = {}): ChangeFeedEntry {
  return {
    sequence,
    studyInstanceUid: study,
    seriesInstanceUid: `${study}.1`,
    sopInstanceUid: sop,
    action: 'create',
    state: 'current',
    timestamp: '2024-01-01T00:00:00Z',
    ...extra,
  };
}

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('buildStudyMessages', () => {
  const entries = [
    entry(1, 'S1', 'I1'),
    entry(2, 'S2', 'I2'),
    entry(3, 'S1', 'I1', { action: 'update', state: 'replaced' }),
    entry(4, 'S1', 'I3', { partitionName: 'other' }),
    entry(5, 'S1', 'I1', { action: 'delete', state: 'deleted' }),
    entry(6, 'S2', 'I4'),
  ];

  it('makes one message per partition and study, listing each instance once as its newest row', () => {
    assert.deepEqual(buildStudyMessages(entries, traceparent), [
      {
        study: 'S1',
        partition: 'other',
        changes: [{ series: 'S1.1', sop: 'I3', action: 'create', sequence: 4, state: 'current' }],
        maxSequence: 4,
        traceparent,
      },
      {
        study: 'S1',
        changes: [{ series: 'S1.1', sop: 'I1', action: 'delete', sequence: 5, state: 'deleted' }],
        maxSequence: 5,
        traceparent,
      },
      {
        study: 'S2',
        changes: [
          { series: 'S2.1', sop: 'I2', action: 'create', sequence: 2, state: 'current' },
          { series: 'S2.1', sop: 'I4', action: 'create', sequence: 6, state: 'current' },
        ],
        maxSequence: 6,
        traceparent,
      },
    ] satisfies StudyMessage[]);
  });

  it('gives the same messages whatever the order of the entries', () => {
    const expected = buildStudyMessages(entries);
    for (const order of [
      [...entries].reverse(),
      [entries[3], entries[0], entries[5], entries[2], entries[4], entries[1]],
    ]) {
      assert.deepEqual(buildStudyMessages(order as ChangeFeedEntry[]), expected);
    }
    assert.equal(expected[0]?.traceparent, undefined);
  });
});

describe('encodeStudyMessages / decodeStudyMessage', () => {
  const small: StudyMessage = buildStudyMessages([entry(10, '1.2.3', '1.2.3.4')], traceparent)[0]!;

  it('encodes a small study as one base64 envelope', () => {
    const texts = encodeStudyMessages(small);
    assert.equal(texts.length, 1);
    const json: unknown = JSON.parse(Buffer.from(texts[0]!, 'base64').toString('utf8'));
    assert.deepEqual(json, { dicomCast: { version: 1, kind: 'study', payload: small } });
  });

  it('accepts what the Functions host hands over: a parsed object, JSON text, base64 text or bytes', () => {
    const [base64] = encodeStudyMessages(small);
    const jsonText = Buffer.from(base64!, 'base64').toString('utf8');
    for (const body of [base64, jsonText, JSON.parse(jsonText) as unknown, Buffer.from(jsonText)]) {
      assert.deepEqual(decodeStudyMessage(body), small);
    }
  });

  it('splits a study of 3,000 changed instances into parts under 64 KB that together list every change', () => {
    const study = '1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345678901234567';
    const many = Array.from({ length: 3000 }, (_, i) =>
      entry(1_000_000 + i, study, `${study}.${i}`, { seriesInstanceUid: `${study}.${i % 7}` }),
    );
    const [message] = buildStudyMessages(many, traceparent);
    assert.ok(message);
    const texts = encodeStudyMessages(message);
    assert.ok(texts.length > 1, 'one message cannot hold 3,000 changes');
    const parts = texts.map((text) => {
      assert.ok(text.length < 64 * 1024, `a part is ${text.length} characters`);
      return decodeStudyMessage(text);
    });
    assert.deepEqual(
      parts.map((part) => part.part),
      parts.map((_, index) => ({ index, count: texts.length })),
    );
    for (const part of parts) {
      assert.equal(part.study, study);
      assert.equal(part.traceparent, traceparent);
      assert.equal(part.maxSequence, Math.max(...part.changes.map((change) => change.sequence)));
    }
    assert.deepEqual(
      parts.flatMap((part) => part.changes),
      message.changes,
    );
  });

  it('rejects a malformed body with a NonRetryableError naming what is wrong', () => {
    const payload = { ...small, changes: [{ ...small.changes[0], sop: '' }] };
    const cases: [unknown, RegExp][] = [
      [{ dicomCast: { version: 1, kind: 'study', payload } }, /dicomCast\.payload\.changes\.0\.sop/],
      [{ dicomCast: { version: 2, kind: 'study', payload: small } }, /dicomCast\.version/],
      [{ dicomCast: { version: 1, kind: 'study', payload: { ...small, changes: undefined } } }, /payload\.changes/],
      [{ dicomCast: { version: 1, kind: 'study', payload: { ...small, part: { index: 2, count: 2 } } } }, /part/],
      [small, /dicomCast/],
      ['this is not json', /neither JSON nor base64/],
      [Buffer.from('{"dicomCast": ').toString('base64'), /neither JSON nor base64/],
      [null, /\(root\)/],
    ];
    for (const [body, pattern] of cases) {
      assert.throws(
        () => decodeStudyMessage(body),
        (error: unknown) => {
          assert.ok(error instanceof NonRetryableError, String(error));
          assert.match(error.message, /^Malformed study message/);
          assert.match(error.message, pattern);
          return true;
        },
      );
    }
  });
});
