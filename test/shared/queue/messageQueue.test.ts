import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { RetryableError, NonRetryableError } from '../../../shared/errors/errors.js';
import { createQueueClient, createStorageQueue } from '../../../shared/queue/messageQueue.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import {
  decodeStudyMessage,
  encodeStudyMessage,
  maxEncodedMessageChars,
} from '../../../shared/queue/studyMessageCodec.js';

describe('createStorageQueue on Azurite', () => {
  let azurite: RunningAzurite;
  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite.close();
  });

  it('creates the queue on first use and puts every text on it as given', async () => {
    const storage = { kind: 'connectionString' as const, connectionString: azurite.connectionString };
    const name = `q${randomBytes(4).toString('hex')}`;
    const queue = createStorageQueue(storage, name, { parallelism: 2 });
    const client = createQueueClient(storage, name);
    await queue.send([]);
    assert.equal(await client.exists(), false, 'nothing to send: no queue created');
    const texts = ['a', 'b', 'c', 'd', 'e'];
    await queue.send(texts);
    const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32 });
    assert.deepEqual(receivedMessageItems.map((item) => item.messageText).sort(), texts);
  });

  it('a queue the service refuses is a retryable error naming the queue', async () => {
    const storage = { kind: 'connectionString' as const, connectionString: azurite.connectionString };
    const error = await createStorageQueue(storage, 'Not_A_Valid_Name')
      .send(['x'])
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof RetryableError);
    assert.equal(error.category, 'transient');
    assert.match(error.message, /^Sending to queue Not_A_Valid_Name failed: /);
    assert.ok(error.cause);
  });

  it('an identity connection addresses the queue under the service URI (trailing slashes dropped)', () => {
    const client = createQueueClient(
      {
        kind: 'identity',
        queueServiceUri: 'https://account.queue.core.windows.net//',
        tableServiceUri: 'https://account.table.core.windows.net',
      },
      'studies',
    );
    assert.equal(client.url, 'https://account.queue.core.windows.net/studies');
    assert.equal(client.name, 'studies');
  });
});

describe('decodeStudyMessage: what it says about a bad message', () => {
  const message: StudyMessage = {
    study: '1.2.3',
    maxSequence: 4,
    changes: [{ series: '1.2.3.1', sop: '1.2.3.1.1', action: 'update', sequence: 4, state: 'current' }],
  };

  it('names at most three problems, counts the rest, and names the study when it can', () => {
    const body = {
      dicomCast: {
        version: 1,
        kind: 'study',
        payload: { study: '1.2.3', maxSequence: -1, changes: [{ series: '', sop: '', action: 'move', sequence: 1 }] },
      },
    };
    assert.throws(
      () => decodeStudyMessage(body),
      (error: unknown) => {
        assert.ok(error instanceof NonRetryableError);
        assert.equal(error.category, 'bad-change-feed-entry');
        assert.equal(error.location.study, '1.2.3');
        assert.match(error.message, /^Malformed study message: [^;]+; [^;]+; [^;]+; and \d+ more \(study 1\.2\.3\)$/);
        return true;
      },
    );
    assert.throws(
      () => decodeStudyMessage({ dicomCast: { version: 1, kind: 'study', payload: { study: 7 } } }),
      (error: unknown) => error instanceof NonRetryableError && error.location.study === undefined,
    );
  });

  it('reads base64 with surrounding whitespace and line breaks, and bytes', () => {
    const text = encodeStudyMessage(message);
    const wrapped = `  ${text.slice(0, 20)}\r\n${text.slice(20)}\n `;
    assert.deepEqual(decodeStudyMessage(wrapped), message);
    assert.deepEqual(decodeStudyMessage(new Uint8Array(Buffer.from(text))), message);
    assert.deepEqual(decodeStudyMessage(`  ${Buffer.from(text, 'base64').toString('utf8')}  `), message);
  });

  it('round-trips every action and state; a blank UID is not a UID', () => {
    const all: StudyMessage = {
      study: '1.2.3',
      partition: 'Part1',
      maxSequence: 9,
      omittedChanges: 2,
      changes: (['create', 'update', 'delete'] as const).flatMap((action, a) =>
        (['current', 'replaced', 'deleted'] as const).map((state, s) => ({
          series: '1.2.3.1',
          sop: `1.2.3.1.${a}${s}`,
          action,
          sequence: a * 3 + s,
          state,
        })),
      ),
    };
    assert.deepEqual(decodeStudyMessage(encodeStudyMessage(all)), all);
    const blank = { ...message, changes: [{ ...message.changes[0], sop: '   ' }] };
    assert.throws(
      () => decodeStudyMessage({ dicomCast: { version: 1, kind: 'study', payload: blank } }),
      /dicomCast\.payload\.changes\.0\.sop: must be a non-empty UID/,
    );
  });

  it('a study too large for one message stays under the limit it promises, each change once', () => {
    const study = '1.2.826.0.1.3680043.8.498.1';
    const changes = Array.from({ length: 2500 }, (_, i) => ({
      series: `${study}.1`,
      sop: `${study}.1.${i}`,
      action: i % 500 === 7 ? ('update' as const) : ('create' as const),
      sequence: 10_000 + i,
      state: 'current' as const,
    }));
    const text = encodeStudyMessage({ study, maxSequence: 12_499, changes });
    assert.ok(text.length <= maxEncodedMessageChars, `${text.length} > ${maxEncodedMessageChars}`);
    assert.ok(text.length > maxEncodedMessageChars - 200, 'and uses the room it has');
    const decoded = decodeStudyMessage(text);
    const sequences = decoded.changes.map((change) => change.sequence);
    assert.equal(new Set(sequences).size, sequences.length, 'no change twice');
    assert.equal(decoded.omittedChanges, 2500 - sequences.length);
    assert.ok(sequences.includes(12_007), 'the newest update is kept');
    // An update among the newest changes is kept once, not once for being an update and once for being new.
    const recent = changes.map((change, i) => ({
      ...change,
      action: i === 2498 ? ('update' as const) : ('create' as const),
    }));
    const recentSequences = decodeStudyMessage(
      encodeStudyMessage({ study, maxSequence: 12_499, changes: recent }),
    ).changes.map((change) => change.sequence);
    assert.equal(new Set(recentSequences).size, recentSequences.length);
    assert.equal(
      decoded.changes.filter((change) => change.action === 'update').length,
      1 + sequences.filter((q) => q % 500 === 7 && q !== 12_007).length,
    );
  });
});
