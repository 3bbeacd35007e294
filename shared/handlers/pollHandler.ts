import type { Log } from '../logging/log.js';
import type { Runtime } from '../runtime/runtime.js';
import { pollChangeFeed, type PollResult } from '../sync/poll.js';

/**
 * One poller run: read the change feed from the checkpoint, enqueue study messages, advance the checkpoint.
 * When the time budget ran out before the feed was drained, a continuation message starts the next run at once
 * instead of waiting for the next timer tick.
 */
export async function runPoll(runtime: Runtime, log: Log): Promise<PollResult> {
  const { config } = runtime;
  const result = await pollChangeFeed(
    {
      feed: runtime.changeFeed,
      checkpoints: runtime.checkpoints,
      queue: runtime.studyQueue,
      failures: runtime.failures,
      now: Date.now,
      log,
    },
    {
      version: config.dicomWeb.changeFeed.version,
      pageSize: config.dicomWeb.changeFeed.pageSize,
      maxRunMs: config.dicomCast.maxPollSeconds * 1000,
    },
  );
  log('info', 'Change feed polled', { ...result });
  if (!result.caughtUp && !result.lostRace) {
    await runtime.continuationQueue.send([
      Buffer.from(JSON.stringify({ dicomCast: { kind: 'poll' } })).toString('base64'),
    ]);
  }
  return result;
}
