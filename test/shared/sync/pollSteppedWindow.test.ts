import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import type { LogLevel } from '../../../shared/logging/log.js';
import { pollChangeFeed, type PollOptions } from '../../../shared/sync/poll.js';
import { feedRow, startFakeChangeFeed, timestampAt, type FakeChangeFeed } from '../../support/fakeChangeFeed.js';
import { memoryPollStores } from '../../support/memoryPollStores.js';

/**
 * v1: a window whose rows give no sequence that may move the position is stepped over by its width. When that
 * window is the last the run reads, the checkpoint written is where the step left the position: it must be a v1
 * checkpoint like any other, or the next run would take it for another API version's.
 */
describe('pollChangeFeed v1: a window stepped over at the end of the feed', () => {
  let feed: FakeChangeFeed;
  before(async () => {
    feed = await startFakeChangeFeed();
  });
  after(() => feed.close());

  it('a last window holding only a misplaced row is stepped over, and the checkpoint is a v1 checkpoint', async () => {
    const stores = memoryPollStores();
    const logs: { level: LogLevel; message: string }[] = [];
    const deps = {
      feed: createChangeFeedClient(
        createServerHttpClient({ baseUrl: feed.baseUrl, authorization: noAuthorization }),
        'v1',
      ),
      ...stores,
      now: Date.now,
      log: (level: LogLevel, message: string) => logs.push({ level, message }),
    };
    const options: PollOptions = { version: 'v1', pageSize: 1, maxRunMs: 60_000 };
    // The feed's newest row, stored at 2, repeats sequence 1: its window (1,2] has no row that can move the position.
    const row = (stored: number, sequence: number) => ({
      sequence: stored,
      timestamp: timestampAt(stored),
      body: feedRow({ sequence, timestamp: timestampAt(stored), study: '1.2.40' }),
    });
    feed.add(row(1, 1), row(2, 1));

    const run = await pollChangeFeed(deps, options);
    assert.equal(run.caughtUp, true);
    assert.equal(run.badEntries, 1);
    assert.deepEqual(
      stores.queue.messages().flatMap((message) => message.changes.map((change) => change.sequence)),
      [1],
    );
    assert.deepEqual(run.checkpoint, { version: 'v1', sequence: 2 });
    assert.deepEqual(stores.checkpoints.stored?.checkpoint, { version: 'v1', sequence: 2 });

    const next = await pollChangeFeed(deps, options);
    assert.equal(next.entriesRead, 0, 'the next run starts after the stepped-over window');
    assert.deepEqual(
      logs.filter((log) => log.message.startsWith('Checkpoint was written')),
      [],
      'the next run takes the checkpoint as its own version',
    );
  });
});
