import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeFeedEntry } from '../../../shared/dicomweb/changeFeedEntry.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import { buildStudyMessages } from '../../../shared/queue/buildStudyMessages.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { decodeStudyMessage, encodeStudyMessage } from '../../../shared/queue/studyMessageCodec.js';

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

describe('encodeStudyMessage / decodeStudyMessage', () => {
  const small: StudyMessage = buildStudyMessages([entry(10, '1.2.3', '1.2.3.4')], traceparent)[0]!;

  it('encodes a small study as one base64 envelope', () => {
    const text = encodeStudyMessage(small);
    const json: unknown = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    assert.deepEqual(json, { dicomCast: { version: 1, kind: 'study', payload: small } });
  });

  it('accepts what the Functions host hands over: a parsed object, JSON text, base64 text or bytes', () => {
    const base64 = encodeStudyMessage(small);
    const jsonText = Buffer.from(base64, 'base64').toString('utf8');
    for (const body of [base64, jsonText, JSON.parse(jsonText) as unknown, Buffer.from(jsonText)]) {
      assert.deepEqual(decodeStudyMessage(body), small);
    }
  });

  it('keeps a study of 3,000 changed instances in ONE message under 64 KB: the newest changes and an update', () => {
    // UIDs as long as UIDs get (64 characters), so each change costs the most.
    const study = '1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345678';
    const base = study.slice(0, 57);
    const many = Array.from({ length: 3000 }, (_, i) =>
      entry(1_000_000 + i, study, `${base}.${i + 1}`, {
        seriesInstanceUid: `${base}.${(i % 7) + 1}`,
        action: i === 5 ? 'update' : 'create',
      }),
    );
    const [message] = buildStudyMessages(many, traceparent);
    assert.ok(message);
    const text = encodeStudyMessage(message);
    assert.ok(text.length < 64 * 1024, `the message is ${text.length} characters`);
    const decoded = decodeStudyMessage(text);
    assert.equal(decoded.study, study);
    assert.equal(decoded.traceparent, traceparent);
    assert.equal(decoded.maxSequence, 1_000_000 + 2999, 'maxSequence covers the omitted changes too');
    assert.ok(decoded.changes.length > 100 && decoded.changes.length < 3000);
    assert.equal(decoded.omittedChanges, 3000 - decoded.changes.length);
    const kept = decoded.changes.map((change) => change.sequence);
    assert.deepEqual(
      kept,
      [...kept].sort((a, b) => a - b),
      'in sequence order',
    );
    assert.ok(kept.includes(1_000_000 + 2999), 'the newest change is kept');
    assert.ok(
      decoded.changes.some((change) => change.action === 'update'),
      'an update is never dropped',
    );
    assert.ok(!kept.includes(1_000_000 + 6), 'old creates are what is left out');
  });

  it('rejects a malformed body with a NonRetryableError naming what is wrong', () => {
    const payload = { ...small, changes: [{ ...small.changes[0], sop: '' }] };
    const cases: [unknown, RegExp][] = [
      [{ dicomCast: { version: 1, kind: 'study', payload } }, /dicomCast\.payload\.changes\.0\.sop/],
      [{ dicomCast: { version: 2, kind: 'study', payload: small } }, /dicomCast\.version/],
      [{ dicomCast: { version: 1, kind: 'study', payload: { ...small, changes: undefined } } }, /payload\.changes/],
      [{ dicomCast: { version: 1, kind: 'study', payload: { ...small, omittedChanges: -1 } } }, /omittedChanges/],
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

describe('buildStudyMessages: partitions and ties', () => {
  it('keeps the same study UID in two named partitions apart', () => {
    const messages = buildStudyMessages([
      entry(1, 'S1', 'I1', { partitionName: 'Part1' }),
      entry(2, 'S1', 'I2', { partitionName: 'Part2' }),
      entry(3, 'S1', 'I3'),
    ]);
    assert.deepEqual(
      messages.map((message) => [message.partition, message.changes.map((change) => change.sop)]),
      [
        ['Part1', ['I1']],
        ['Part2', ['I2']],
        [undefined, ['I3']],
      ],
    );
  });

  it('orders equal sequences by series, SOP, partition and study, so any input order gives the same messages', () => {
    // A DICOM change feed never repeats a sequence, but the order must not depend on the input order for any input.
    const tied = [
      entry(7, 'S2', 'I9', { seriesInstanceUid: 'B' }),
      entry(7, 'S2', 'I2', { seriesInstanceUid: 'B' }),
      entry(7, 'S2', 'I5', { seriesInstanceUid: 'A' }),
      entry(7, 'S1', 'I1', { partitionName: 'Zeta' }),
      entry(7, 'S1', 'I1', { partitionName: 'Alpha' }),
      entry(7, 'S3', 'I1'),
      entry(7, 'S1', 'I1'),
    ];
    const expected = [
      { partition: undefined, study: 'S1', sops: ['I1'] },
      { partition: undefined, study: 'S2', sops: ['I5', 'I2', 'I9'] },
      { partition: undefined, study: 'S3', sops: ['I1'] },
      { partition: 'Alpha', study: 'S1', sops: ['I1'] },
      { partition: 'Zeta', study: 'S1', sops: ['I1'] },
    ];
    for (const order of [tied, [...tied].reverse(), [tied[3], tied[6], tied[1], tied[5], tied[0], tied[4], tied[2]]]) {
      const messages = buildStudyMessages(order as ChangeFeedEntry[]);
      assert.deepEqual(
        messages.map((message) => ({
          partition: message.partition,
          study: message.study,
          sops: message.changes.map((change) => change.sop),
        })),
        expected,
      );
    }
  });
});
