import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import type { StorageConnection } from '../../../shared/config/storageConnection.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { createQueueClient, createStorageQueue, type MessageQueue } from '../../../shared/queue/messageQueue.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { decodeStudyMessage } from '../../../shared/queue/studyMessageCodec.js';
import { createCheckpointStore, type Checkpoint, type CheckpointStore } from '../../../shared/state/checkpointStore.js';
import { createFailureStore } from '../../../shared/state/failureStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';
import type { ChangeSource } from '../../../shared/changes/changeSource.js';
import { pollChangeFeed, type PollDependencies } from '../../../shared/sync/poll.js';
import { feedRow, startFakeChangeFeed, timestampAt, type RowSpec } from '../../support/fakeChangeFeed.js';

const uniqueName = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

describe('pollChangeFeed against a loopback change feed and Azurite', () => {
  let azurite: RunningAzurite;
  let storage: StorageConnection;

  before(async () => {
    azurite = await startAzurite();
    storage = { kind: 'connectionString', connectionString: azurite.connectionString };
  });
  after(async () => {
    await azurite.close();
  });

  /** A fresh feed, checkpoint table, failure table and queue for one test. */
  async function stack(t: TestContext, version: 'v1' | 'v2') {
    const feed = await startFakeChangeFeed();
    t.after(() => feed.close());
    const queueName = uniqueName('studies-');
    const checkpoints = createCheckpointStore(await createTableClient(storage, uniqueName('cp')), {
      endpoint: feed.baseUrl,
    });
    const failures = createFailureStore(await createTableClient(storage, uniqueName('fail')));
    const queue = createStorageQueue(storage, queueName);
    const client = (clientVersion: 'v1' | 'v2' = version) =>
      createChangeFeedClient(
        createServerHttpClient({ baseUrl: feed.baseUrl, authorization: noAuthorization }),
        clientVersion,
      );
    const deps: PollDependencies = { feed: client(), checkpoints, queue, failures, now: Date.now };
    const queueClient = createQueueClient(storage, queueName);
    /** Everything on the queue so far, decoded; hidden (not deleted, which is slower) so it is read once. */
    const drain = async (): Promise<StudyMessage[]> => {
      const messages: StudyMessage[] = [];
      for (;;) {
        const { receivedMessageItems } = await queueClient.receiveMessages({
          numberOfMessages: 32,
          visibilityTimeout: 3600,
        });
        if (receivedMessageItems.length === 0) return messages;
        messages.push(...receivedMessageItems.map((item) => decodeStudyMessage(item.messageText)));
      }
    };
    return { feed, deps, client, drain, checkpoints, failures, queue };
  }

  const sopsOf = (messages: StudyMessage[]) =>
    messages.flatMap((message) => message.changes.map((change) => change.sop));
  const sorted = (values: string[]) => [...values].sort();
  const sopOf = (sequence: number, study: string) => `${study}.1.${sequence}`;

  it('v2: pages through rows that share timestamps and resumes at the right row of a timestamp', async (t) => {
    const { feed, deps, drain, checkpoints } = await stack(t, 'v2');
    // Four rows per timestamp; pages of five cut through the groups.
    const spec = (sequence: number, second: number): RowSpec => ({
      sequence,
      timestamp: timestampAt(second),
      study: `1.2.${sequence % 5}`,
    });
    const first = Array.from({ length: 23 }, (_, i) => spec(i + 1, Math.floor(i / 4)));
    feed.addSpecs(first.slice(0, 12), 'pascal');
    feed.addSpecs(first.slice(12), 'camel');

    const run1 = await pollChangeFeed(deps, { version: 'v2', pageSize: 5, maxRunMs: 60_000 });
    assert.equal(run1.caughtUp, true);
    assert.equal(run1.lostRace, false);
    assert.equal(run1.entriesRead, 23);
    assert.equal(run1.messagesEnqueued, 5);
    assert.deepEqual(run1.checkpoint, { version: 'v2', timestamp: timestampAt(5), offset: 3, sequence: 23 });
    assert.deepEqual(sorted(sopsOf(await drain())), sorted(first.map((row) => sopOf(row.sequence, row.study))));

    // Two more rows at the last timestamp (after the three already read) and one later row.
    const more = [spec(24, 5), spec(25, 5), spec(26, 6)];
    feed.addSpecs(more);
    feed.requests.length = 0;
    const run2 = await pollChangeFeed(deps, { version: 'v2', pageSize: 5, maxRunMs: 60_000 });
    assert.equal(run2.entriesRead, 3);
    assert.deepEqual(run2.checkpoint, { version: 'v2', timestamp: timestampAt(6), offset: 1, sequence: 26 });
    assert.deepEqual(sorted(sopsOf(await drain())), sorted(more.map((row) => sopOf(row.sequence, row.study))));
    assert.deepEqual(
      [feed.requests[0]?.query.startTime, feed.requests[0]?.query.offset],
      [timestampAt(5), '3'],
      'resumed at the timestamp, skipping the 3 rows already read there',
    );

    // Nothing new: nothing sent, checkpoint untouched.
    const before = await checkpoints.read();
    const run3 = await pollChangeFeed(deps, { version: 'v2', pageSize: 5, maxRunMs: 60_000 });
    assert.deepEqual([run3.entriesRead, run3.messagesEnqueued, run3.caughtUp], [0, 0, true]);
    assert.equal((await checkpoints.read())?.etag, before?.etag);
  });

  it('v1: walks through sequence gaps window by window', async (t) => {
    const { feed, deps, drain } = await stack(t, 'v1');
    const sequences = [1, 2, 3, 4, 5, 300, 301, 302, 1000];
    feed.addSpecs(
      sequences.map((sequence) => ({ sequence, timestamp: timestampAt(sequence), study: `1.3.${sequence}` })),
    );

    const run = await pollChangeFeed(deps, { version: 'v1', pageSize: 10, maxRunMs: 60_000 });
    assert.equal(run.caughtUp, true);
    assert.equal(run.latestSequence, 1000);
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 1000 });
    assert.deepEqual(
      sorted(sopsOf(await drain())),
      sorted(sequences.map((sequence) => sopOf(sequence, `1.3.${sequence}`))),
    );
    const offsets = feed.requests
      .filter((request) => request.path === '/v1/changefeed')
      .map((request) => Number(request.query.offset));
    for (let i = 1; i < offsets.length; i++) {
      const step = offsets[i]! - offsets[i - 1]!;
      assert.ok(step > 0 && step <= 10, `offset moved from ${offsets[i - 1]} to ${offsets[i]}`);
    }

    feed.requests.length = 0;
    const again = await pollChangeFeed(deps, { version: 'v1', pageSize: 10, maxRunMs: 60_000 });
    assert.deepEqual([again.entriesRead, again.messagesEnqueued, again.caughtUp], [0, 0, true]);
    assert.deepEqual(
      feed.requests.map((request) => request.path),
      ['/v1/changefeed', '/v1/changefeed/latest'],
    );
  });

  it('records bad rows as failures with the raw row and moves past them', async (t) => {
    const { feed, deps, drain, failures } = await stack(t, 'v2');
    const specs = Array.from({ length: 10 }, (_, i) => ({ sequence: i + 1, timestamp: timestampAt(i), study: '1.4' }));
    const raws = specs.map((spec) => feedRow(spec));
    raws[3] = { ...raws[3], Action: 'move' };
    delete raws[6]!.StudyInstanceUid;
    feed.add(...specs.map((spec, i) => ({ sequence: spec.sequence, timestamp: spec.timestamp, body: raws[i] })));

    const run = await pollChangeFeed(deps, { version: 'v2', pageSize: 4, maxRunMs: 60_000 });
    assert.equal(run.badEntries, 2);
    assert.equal(run.checkpoint?.sequence, 10);
    const expected = specs.filter((spec) => spec.sequence !== 4 && spec.sequence !== 7);
    assert.deepEqual(sorted(sopsOf(await drain())), sorted(expected.map((spec) => sopOf(spec.sequence, '1.4'))));

    const recorded = (await failures.list()).sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0));
    assert.equal(recorded.length, 2);
    assert.deepEqual(
      recorded.map((failure) => [failure.category, failure.sequence, failure.payload]),
      [
        ['bad-change-feed-entry', 4, raws[3]],
        ['bad-change-feed-entry', 7, raws[6]],
      ],
    );
    assert.match(recorded[0]!.reason, /sequence 4.*Action "move"/);
    assert.match(recorded[1]!.reason, /sequence 7.*StudyInstanceUid/);
    assert.equal(recorded[0]!.instance, sopOf(4, '1.4'));
  });

  it('stops within its time budget and drains a backlog over consecutive runs without loss or repeats', async (t) => {
    const { feed, deps, drain } = await stack(t, 'v2');
    const total = 600;
    const specs = Array.from({ length: total }, (_, i) => ({
      sequence: i + 1,
      timestamp: timestampAt(Math.floor(i / 3)),
      study: `1.5.${i % 60}`,
    }));
    feed.addSpecs(specs);
    // A clock that moves 100 ms per change-feed request.
    let clock = 0;
    const real = deps.feed;
    const slowFeed: PollDependencies['feed'] = {
      latest: () => real.latest(),
      readV1: (...args) => real.readV1(...args),
      readV2: (...args) => {
        clock += 100;
        return real.readV2(...args);
      },
    };
    const maxRunMs = 1_000;
    let runs = 0;
    let read = 0;
    for (;;) {
      runs++;
      assert.ok(runs <= 10, 'the backlog drains');
      const startedAt = clock;
      const run = await pollChangeFeed(
        { ...deps, feed: slowFeed, now: () => clock },
        { version: 'v2', pageSize: 20, maxRunMs, flushEveryEntries: 50 },
      );
      assert.ok(clock - startedAt <= maxRunMs, `run ${runs} took ${clock - startedAt} ms of ${maxRunMs}`);
      read += run.entriesRead;
      if (run.caughtUp) break;
      assert.ok(run.entriesRead > 0);
    }
    assert.ok(runs >= 4, `${runs} runs`);
    assert.equal(read, total);
    const sops = sopsOf(await drain());
    assert.equal(sops.length, total, 'each instance sent once');
    assert.deepEqual(sorted(sops), sorted(specs.map((spec) => sopOf(spec.sequence, spec.study))));
  });

  it('after a crash between enqueue and checkpoint, the next run re-sends only the unconfirmed batch', async (t) => {
    const { feed, deps, drain } = await stack(t, 'v1');
    const specs = Array.from({ length: 300 }, (_, i) => ({
      sequence: i + 1,
      timestamp: timestampAt(i),
      study: `1.6.${i % 7}`,
    }));
    feed.addSpecs(specs);
    let sends = 0;
    const crashing: MessageQueue = {
      send: async (texts) => {
        await deps.queue.send(texts);
        if (++sends === 5) throw new RetryableError('host stopped', 'transient');
      },
    };
    const options = { version: 'v1', pageSize: 10, maxRunMs: 60_000, flushEveryEntries: 30 } as const;
    await assert.rejects(pollChangeFeed({ ...deps, queue: crashing }, options), RetryableError);
    const run = await pollChangeFeed(deps, options);
    assert.equal(run.caughtUp, true);
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 300 });

    const sops = sopsOf(await drain());
    assert.deepEqual([...new Set(sops)].sort(), sorted(specs.map((spec) => sopOf(spec.sequence, spec.study))));
    const repeats = sops.length - new Set(sops).size;
    assert.ok(repeats > 0 && repeats <= 30, `${repeats} instances sent twice`);
  });

  it('never lets two concurrent polls both move the checkpoint', async (t) => {
    const { feed, deps, client, drain, checkpoints } = await stack(t, 'v2');
    const specs = Array.from({ length: 200 }, (_, i) => ({
      sequence: i + 1,
      timestamp: timestampAt(Math.floor(i / 2)),
      study: `1.7.${i % 11}`,
    }));
    feed.addSpecs(specs);
    feed.delayMs = 3;
    const written: Checkpoint[] = [];
    const recording: CheckpointStore = {
      read: () => checkpoints.read(),
      write: async (checkpoint, etag) => {
        const outcome = await checkpoints.write(checkpoint, etag);
        if (outcome.outcome === 'written') written.push(checkpoint);
        return outcome;
      },
    };
    const options = { version: 'v2', pageSize: 10, maxRunMs: 60_000, flushEveryEntries: 20 } as const;
    const runs = await Promise.all(
      [client(), client()].map((feedClient) =>
        pollChangeFeed({ ...deps, feed: feedClient, checkpoints: recording }, options),
      ),
    );
    assert.deepEqual(runs.map((run) => run.lostRace).sort(), [false, true]);
    assert.equal(runs.find((run) => !run.lostRace)?.caughtUp, true);
    for (let i = 1; i < written.length; i++) {
      assert.ok(written[i]!.sequence > written[i - 1]!.sequence, 'each write moves on from the one before');
    }
    assert.deepEqual((await checkpoints.read())?.checkpoint, {
      version: 'v2',
      timestamp: timestampAt(99),
      offset: 2,
      sequence: 200,
    });
    const sops = new Set(sopsOf(await drain()));
    assert.equal(sops.size, 200);
  });

  it('sends a 3,000-instance study as one message the real queue accepts', async (t) => {
    const { feed, deps, drain } = await stack(t, 'v2');
    // The longest study UID whose instance UIDs (`<study>.1.<sequence>`) are still UIDs (at most 64 characters).
    const study = '1.2.826.0.1.3680043.8.498.9988776655443322110099887766554';
    const specs = Array.from({ length: 3000 }, (_, i) => ({ sequence: i + 1, timestamp: timestampAt(i), study }));
    feed.addSpecs(specs);
    const run = await pollChangeFeed(deps, { version: 'v2', pageSize: 200, maxRunMs: 60_000 });
    assert.equal(run.messagesEnqueued, 1);
    const messages = await drain();
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.maxSequence, 3000);
    assert.equal(new Set(sopsOf(messages)).size + (messages[0]?.omittedChanges ?? 0), 3000);
  });

  it('continues from a v2 checkpoint when switched to v1', async (t) => {
    const { feed, deps, client, drain } = await stack(t, 'v2');
    const spec = (sequence: number) => ({ sequence, timestamp: timestampAt(sequence), study: '1.8' });
    feed.addSpecs([1, 2, 3].map(spec));
    await pollChangeFeed(deps, { version: 'v2', pageSize: 10, maxRunMs: 60_000 });
    await drain();
    feed.addSpecs([4, 5].map(spec));
    const run = await pollChangeFeed(
      { ...deps, feed: client('v1') },
      { version: 'v1', pageSize: 10, maxRunMs: 60_000 },
    );
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 5 });
    assert.deepEqual(sorted(sopsOf(await drain())), [sopOf(4, '1.8'), sopOf(5, '1.8')]);
  });

  it('a change source row that is not a change is recorded, and the run enqueues the rest and moves past it', async (t) => {
    const { deps, drain, failures, checkpoints } = await stack(t, 'v1');
    let served = false;
    const source: ChangeSource = {
      readPage: (position) => {
        if (served) return Promise.resolve({ rowsRead: 0, studies: [], position, done: true });
        served = true;
        return Promise.resolve({
          rowsRead: 2,
          studies: [{ study: '1.9.1', sequence: 3 }],
          badRows: [{ sequence: 4, reason: 'Orthanc row 4 is not a change', raw: { Seq: 4, ChangeType: 7 } }],
          position: { version: 'v1', sequence: 4 },
          done: true,
        });
      },
    };
    const run = await pollChangeFeed({ ...deps, source }, { version: 'v1', pageSize: 10, maxRunMs: 60_000 });
    assert.equal(run.badEntries, 1);
    assert.deepEqual(
      (await drain()).map((message) => message.study),
      ['1.9.1'],
    );
    const [record, ...more] = await failures.list();
    assert.equal(more.length, 0);
    assert.equal(record?.category, 'bad-change-feed-entry');
    assert.equal(record?.sequence, 4);
    assert.equal(record?.reason, 'Orthanc row 4 is not a change');
    assert.deepEqual(record?.payload, { Seq: 4, ChangeType: 7 });
    assert.equal(((await checkpoints.read())?.checkpoint as { sequence?: number } | undefined)?.sequence, 4);
  });
});
