import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import type { ChangeSource } from '../../../shared/changes/changeSource.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import type { LogLevel } from '../../../shared/logging/log.js';
import type { Checkpoint } from '../../../shared/state/checkpointStore.js';
import { pollChangeFeed, type PollDependencies, type PollOptions } from '../../../shared/sync/poll.js';
import { feedRow, startFakeChangeFeed, timestampAt, type FakeChangeFeed } from '../../support/fakeChangeFeed.js';
import { memoryPollStores, type MemoryPollStores } from '../../support/memoryPollStores.js';

/**
 * The poller's own checks of what the feed serves, against the loopback change feed and in-memory stores (fast
 * enough for the mutation run; poll.test.ts runs the same paths on Azurite): a row that cannot be where the feed put
 * it is recorded and never moves the checkpoint, a gap is walked in bounded steps, a checkpoint of the other API
 * version is taken over without reading rows twice, and an empty feed writes nothing.
 */
describe('pollChangeFeed: rows it must not trust, gaps, version switches', () => {
  let feed: FakeChangeFeed;
  before(async () => {
    feed = await startFakeChangeFeed();
  });
  after(() => feed.close());

  interface Run {
    stores: MemoryPollStores;
    deps: PollDependencies;
    logs: { level: LogLevel; message: string; properties?: Record<string, unknown> }[];
  }

  function setUp(version: 'v1' | 'v2', initial?: Checkpoint): Run {
    feed.rows.length = 0;
    feed.requests.length = 0;
    const stores = memoryPollStores(initial);
    const logs: Run['logs'] = [];
    const deps: PollDependencies = {
      feed: createChangeFeedClient(
        createServerHttpClient({ baseUrl: feed.baseUrl, authorization: noAuthorization }),
        version,
      ),
      ...stores,
      now: Date.now,
      log: (level, message, properties) => logs.push({ level, message, ...(properties ? { properties } : {}) }),
    };
    return { stores, deps, logs };
  }

  const options = (version: 'v1' | 'v2', more: Partial<PollOptions> = {}): PollOptions => ({
    version,
    pageSize: 3,
    maxRunMs: 60_000,
    ...more,
  });
  /** A row stored at `stored` (where the feed pages it) whose body says `sequence` (and `timestamp`). */
  const row = (stored: number, sequence = stored, second = stored) => ({
    sequence: stored,
    timestamp: timestampAt(stored),
    body: feedRow({ sequence, timestamp: timestampAt(second), study: '1.2.40' }),
  });
  const sopsSent = (stores: MemoryPollStores) =>
    stores.queue
      .messages()
      .flatMap((message) => message.changes.map((change) => change.sequence))
      .sort((a, b) => a - b);

  it('v1: a row outside the window asked for is recorded and moves nothing; rows at the window edges are taken', async () => {
    const { stores, deps, logs } = setUp('v1');
    // Windows of 3: (0,3] (3,6] (6,9] (9,12]. Stored 5 says 3 (= the window's start), stored 7 says 10 (> its end).
    feed.add(row(1), row(2), row(3), row(4), row(5, 3), row(6), row(7, 10), row(8), row(9), row(12));
    const run = await pollChangeFeed(deps, options('v1'));
    assert.equal(run.caughtUp, true);
    assert.equal(run.badEntries, 2);
    assert.deepEqual(sopsSent(stores), [1, 2, 3, 4, 6, 8, 9, 12]);
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 12 });
    assert.deepEqual(
      stores.failures.records.map((failure) => [failure.sequence, failure.reason]),
      [
        [3, 'Change feed entry sequence 3 skipped: Sequence 3 lies outside the window asked for (3, 6]'],
        [10, 'Change feed entry sequence 10 skipped: Sequence 10 lies outside the window asked for (6, 9]'],
      ],
    );
    assert.deepEqual(
      logs.filter((log) => log.level === 'warn'),
      stores.failures.records.map((failure) => ({
        level: 'warn',
        message: failure.reason,
        properties: { sequence: failure.sequence },
      })),
      'each skipped row is logged with its sequence',
    );
  });

  it('v1: a window whose rows have no usable sequence is stepped over, not read again', async () => {
    const { stores, deps } = setUp('v1');
    const noSequence = { ...feedRow({ sequence: 2, timestamp: timestampAt(2), study: '1.2.41' }), Sequence: 'two' };
    feed.add(row(1), { sequence: 2, timestamp: timestampAt(2), body: noSequence }, row(5));
    const run = await pollChangeFeed(deps, options('v1', { pageSize: 1 }));
    assert.equal(run.badEntries, 1);
    assert.deepEqual(sopsSent(stores), [1, 5]);
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 5 });
    const offsets = feed.requests.filter((request) => request.path === '/v1/changefeed').map((r) => r.query.offset);
    assert.deepEqual(offsets.slice(0, 3), ['0', '1', '2'], 'the bad row window (1,2] is read once, then (2,3]');
  });

  it('v2: a row above the newest sequence the feed reports is recorded and does not carry the checkpoint', async () => {
    const { stores, deps } = setUp('v2');
    // The feed's latest is the row stored at 4; the row stored at 3 says 99.
    feed.add(row(1), row(2), row(3, 99), row(4));
    const run = await pollChangeFeed(deps, options('v2', { pageSize: 10 }));
    assert.equal(run.latestSequence, 4);
    assert.deepEqual(sopsSent(stores), [1, 2, 4]);
    assert.deepEqual(run.checkpoint, { version: 'v2', timestamp: timestampAt(4), offset: 1, sequence: 4 });
    assert.deepEqual(
      stores.failures.records.map((failure) => failure.reason),
      ["Change feed entry sequence 99 skipped: Sequence 99 is above the feed's latest (4)"],
    );
  });

  it('v2: a row earlier than the rows before it is recorded and never moves the position back', async () => {
    const { stores, deps } = setUp('v2');
    // Stored (paged) at second 3, but its body says second 0.
    feed.add(row(1), row(2), row(3, 3, 0), row(4), row(5, 5, 4));
    const run = await pollChangeFeed(deps, options('v2', { pageSize: 10 }));
    assert.deepEqual(sopsSent(stores), [1, 2, 4, 5]);
    assert.deepEqual(
      stores.failures.records.map((failure) => failure.reason),
      [
        `Change feed entry sequence 3 skipped: Timestamp ${timestampAt(0)} is earlier than the rows before it (${timestampAt(2)})`,
      ],
    );
    // Row 5 shares row 4's timestamp: the second row there.
    assert.deepEqual(run.checkpoint, { version: 'v2', timestamp: timestampAt(4), offset: 2, sequence: 5 });
  });

  it('v1: a gap is walked window by window up to maxGapWindowsPerRun, with a warning; the next run carries on', async () => {
    const { deps, logs } = setUp('v1');
    feed.add(row(1), row(2), row(1000));
    const first = await pollChangeFeed(deps, options('v1', { pageSize: 10, maxGapWindowsPerRun: 3 }));
    assert.equal(
      feed.requests.filter((request) => request.path === '/v1/changefeed/latest').length,
      1,
      'latest is asked again only when a step could reach it',
    );
    assert.equal(first.gapWalkCapped, true);
    assert.equal(first.caughtUp, true);
    assert.deepEqual(first.checkpoint, { version: 'v1', sequence: 32 });
    assert.deepEqual(
      logs.filter((log) => log.level === 'warn'),
      [
        {
          level: 'warn',
          message: 'Change-feed gap: 3 empty windows this run; the next run carries on',
          properties: { from: 2, reached: 32, latest: 1000 },
        },
      ],
    );
    const second = await pollChangeFeed(deps, options('v1', { pageSize: 10, maxGapWindowsPerRun: 0 }));
    assert.deepEqual(second.checkpoint, { version: 'v1', sequence: 42 }, 'at least one window per run');
    const third = await pollChangeFeed(deps, options('v1', { pageSize: 10, maxGapWindowsPerRun: 1000 }));
    assert.equal(third.gapWalkCapped, undefined);
    assert.equal(third.entriesRead, 1);
    assert.deepEqual(third.checkpoint, { version: 'v1', sequence: 1000 });
  });

  it('v1: without a setting, a run walks 500 empty windows', async () => {
    const { deps } = setUp('v1');
    feed.add(row(1), row(100_000));
    const run = await pollChangeFeed(deps, options('v1', { pageSize: 10 }));
    assert.equal(run.gapWalkCapped, true);
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 1 + 500 * 10 });
  });

  it('v2 after a v1 checkpoint: warns, reads from the start and sends only rows after the old sequence', async () => {
    const { stores, deps, logs } = setUp('v2', { version: 'v1', sequence: 2 });
    feed.add(row(1), row(2), row(3));
    const run = await pollChangeFeed(deps, options('v2', { pageSize: 10 }));
    assert.equal(run.entriesRead, 3);
    assert.deepEqual(sopsSent(stores), [3]);
    assert.deepEqual(run.checkpoint, { version: 'v2', timestamp: timestampAt(3), offset: 1, sequence: 3 });
    assert.deepEqual(logs[0], {
      level: 'warn',
      message: 'Checkpoint was written by change feed v1; continuing with v2',
      properties: { checkpoint: { version: 'v1', sequence: 2 } },
    });
  });

  it('an empty feed and no checkpoint: nothing sent, no checkpoint written', async () => {
    const { stores, deps } = setUp('v2');
    const run = await pollChangeFeed(deps, options('v2'));
    assert.equal(run.caughtUp, true);
    assert.deepEqual(stores.checkpoints.writes, []);
    assert.equal(run.checkpoint, undefined);
    assert.equal(stores.queue.texts.length, 0);
  });

  it('v1: an empty feed whose latest answers 204, no checkpoint: caught up, nothing written', async () => {
    const { stores, deps } = setUp('v1');
    feed.emptyLatest = 204;
    try {
      const run = await pollChangeFeed(deps, options('v1'));
      assert.equal(run.caughtUp, true);
      assert.equal(run.latestSequence, 0);
      assert.deepEqual(stores.checkpoints.writes, []);
    } finally {
      feed.emptyLatest = 'zero';
    }
  });

  it('a stored checkpoint and nothing new: the result names the stored checkpoint, nothing is written', async () => {
    const stored: Checkpoint = { version: 'v2', timestamp: timestampAt(3), offset: 1, sequence: 3 };
    const { stores, deps } = setUp('v2', stored);
    feed.add(row(1), row(2), row(3));
    const run = await pollChangeFeed(deps, options('v2'));
    assert.deepEqual(run.checkpoint, stored);
    assert.deepEqual(stores.checkpoints.writes, []);
  });

  it('a time budget already spent: nothing is read', async () => {
    const { stores, deps } = setUp('v1');
    feed.add(row(1));
    const run = await pollChangeFeed({ ...deps, now: () => 0 }, options('v1', { maxRunMs: 0 }));
    assert.deepEqual([run.entriesRead, run.caughtUp, feed.requests.length], [0, false, 0]);
    assert.equal(stores.queue.texts.length, 0);
  });

  it('never starts a page that would overrun the budget at the slowest pace seen so far', async () => {
    const { deps } = setUp('v2');
    feed.add(...Array.from({ length: 8 }, (_, i) => row(i + 1)));
    // Pages cost 400, 100, 100, 500 ... ms: after the third page (600 ms) a page as slow as the first would end at
    // 1000 ms, the budget, so the run stops; reading the 500 ms page would end at 1100.
    const costs = [400, 100, 100, 500, 100, 100, 100, 100];
    let clock = 0;
    let pages = 0;
    const slow: PollDependencies['feed'] = {
      latest: () => deps.feed.latest(),
      readV1: (...args) => deps.feed.readV1(...args),
      readV2: (...args) => {
        clock += costs[pages++] ?? 100;
        return deps.feed.readV2(...args);
      },
    };
    const run = await pollChangeFeed(
      { ...deps, feed: slow, now: () => clock },
      options('v2', { pageSize: 1, maxRunMs: 1000 }),
    );
    assert.equal(pages, 3);
    assert.equal(run.entriesRead, 3);
    assert.ok(clock <= 1000, `the run took ${clock} ms`);
  });

  it('a poller that lost the race for the checkpoint stops at once: it reads and sends nothing more', async () => {
    const { stores, deps, logs } = setUp('v1');
    feed.add(row(1), row(2), row(3), row(4));
    // Another poller moves the checkpoint before this one's first write.
    const racing: PollDependencies = {
      ...deps,
      checkpoints: {
        read: () => stores.checkpoints.read(),
        write: async (checkpoint, etag) => {
          await stores.checkpoints.write({ version: 'v1', sequence: 1 }, undefined);
          return stores.checkpoints.write(checkpoint, etag);
        },
      },
    };
    const run = await pollChangeFeed(racing, options('v1', { pageSize: 1, flushEveryEntries: 1 }));
    assert.equal(run.lostRace, true);
    assert.equal(run.entriesRead, 1);
    assert.equal(run.checkpoint, undefined);
    assert.deepEqual(stores.checkpoints.writes, [{ version: 'v1', sequence: 1 }], "only the other poller's write");
    assert.equal(stores.queue.texts.length, 1, 'the first batch is on the queue (at least once); nothing after it');
    assert.deepEqual(
      logs.filter((log) => log.level === 'warn'),
      [
        {
          level: 'warn',
          message: 'Another poller moved the checkpoint first; stopping this run',
          properties: { checkpoint: { version: 'v1', sequence: 1 } },
        },
      ],
    );
  });

  it('flushes every flushEveryEntries rows (at least 1), moving the checkpoint after each batch is on the queue', async () => {
    const { stores, deps, logs } = setUp('v1');
    feed.add(row(1), row(2), row(3), row(4), row(5));
    const run = await pollChangeFeed(deps, options('v1', { pageSize: 1, flushEveryEntries: 0 }));
    assert.deepEqual(logs.filter((log) => log.level === 'debug')[0], {
      level: 'debug',
      message: 'Checkpoint moved',
      properties: { checkpoint: { version: 'v1', sequence: 1 }, entries: 1, messages: 1 },
    });
    assert.deepEqual(sopsSent(stores), [1, 2, 3, 4, 5]);
    assert.deepEqual(
      stores.checkpoints.writes.map((checkpoint) => checkpoint.sequence),
      [1, 2, 3, 4, 5],
    );
    assert.equal(run.messagesEnqueued, 5);
  });

  it('a study message that cannot be a queue message is recorded; the rest is sent and the checkpoint moves', async () => {
    const { stores, deps } = setUp('v1');
    const huge = `1.2.${'9'.repeat(70_000)}`;
    let served = false;
    const source: ChangeSource = {
      readPage: (position) => {
        const page = served
          ? { rowsRead: 0, studies: [], position, done: true }
          : {
              rowsRead: 2,
              studies: [
                { study: huge, sequence: 7 },
                { study: '1.2.42', sequence: 8 },
              ],
              position: { version: 'v1' as const, sequence: 8 },
              done: true,
            };
        served = true;
        return Promise.resolve(page);
      },
    };
    const run = await pollChangeFeed({ ...deps, source }, options('v1'));
    assert.equal(run.entriesRead, 2);
    assert.equal(run.badEntries, 1);
    assert.equal(run.messagesEnqueued, 1);
    assert.deepEqual(
      stores.queue.messages().map((message) => message.study),
      ['1.2.42'],
    );
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 8 });
    const [failure, ...more] = stores.failures.records;
    assert.equal(more.length, 0);
    assert.equal(failure?.category, 'bad-change-feed-entry');
    assert.equal(failure?.sequence, 7);
    assert.match(failure?.reason ?? '', /cannot be made to fit in a queue message/);
    assert.equal((failure?.payload as { study?: string } | undefined)?.study, huge);
  });

  it('a change source: the studies of each page are flushed every flushEveryEntries studies', async () => {
    const { stores, deps } = setUp('v1');
    const source: ChangeSource = {
      readPage: (position) => {
        const next = position.sequence + 1;
        return Promise.resolve({
          rowsRead: 1,
          studies: [{ study: `1.2.6${next}`, sequence: next }],
          position: { version: 'v1' as const, sequence: next },
          done: next === 3,
        });
      },
    };
    await pollChangeFeed({ ...deps, source }, options('v1', { flushEveryEntries: 1 }));
    assert.deepEqual(
      stores.checkpoints.writes.map((checkpoint) => checkpoint.sequence),
      [1, 2, 3],
    );
  });
});
