import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../dev/azurite.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { studyQueueName } from '../../shared/queue/queueNames.js';
import { decodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import { getRuntime } from '../../shared/runtime/runtime.js';
import { startBacklogFeed, type BacklogFeed } from '../support/backlogFeed.js';

const rows = Number(process.env.BACKLOG_ROWS ?? 100_000);

describe(`a backlog of ${rows} change-feed entries`, () => {
  let azurite: RunningAzurite;
  let feed: BacklogFeed;

  before(async () => {
    azurite = await startAzurite();
    feed = await startBacklogFeed({ rows, studies: 200 });
  });
  after(async () => {
    await feed.close();
    await azurite.close();
  });

  it('drains in consecutive runs, none past its time budget, with nothing lost', async () => {
    const runs: { name: string; ms: number; endedAt: number }[] = [];
    const starts: number[] = [];
    const host = new LocalFunctionsHost({
      settings: {
        AzureWebJobsStorage: azurite.connectionString,
        DicomWeb__Endpoint: feed.url,
        Fhir__Endpoint: 'http://127.0.0.1:9/fhir',
        DicomWeb__ChangeFeed__PageSize: '200',
        DicomCast__MaxPollSeconds: '1',
        DicomCast__Schedule: '0 0 0 1 1 *',
      },
      log: (_level, functionName, ...args) => {
        const text = args.map(String).join(' ');
        if (text.startsWith('Executing')) starts.push(Date.now());
        const executed = /^Executed .*Duration=(\d+)ms/.exec(text);
        if (executed) runs.push({ name: functionName, ms: Number(executed[1]), endedAt: Date.now() });
      },
    });
    await host.timer.fire();
    await host.continuation.runUntilIdle();

    const pollRuns = runs.filter((run) => run.name === 'changeFeedPoller' || run.name === 'changeFeedContinuation');
    assert.ok(pollRuns.length > 1, `expected several runs, got ${pollRuns.length}`);
    const longest = Math.max(...pollRuns.map((run) => run.ms));
    assert.ok(longest < 1000 + 1500, `a run took ${longest} ms with a 1 s budget`);
    // The next run starts as soon as the previous one ended, not on the next timer tick.
    for (let index = 1; index < pollRuns.length; index++) {
      const gap = (starts[index] ?? 0) - (pollRuns[index - 1]?.endedAt ?? 0);
      assert.ok(gap < 1000, `run ${index + 1} started ${gap} ms after run ${index} ended`);
    }

    const { checkpoints } = await getRuntime();
    const stored = await checkpoints.read();
    assert.equal(stored?.checkpoint.sequence, feed.lastSequence);

    const queue = new QueueClient(azurite.connectionString, studyQueueName);
    const instances = new Set<string>();
    let omitted = 0;
    let messages = 0;
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
      if (receivedMessageItems.length === 0) break;
      for (const item of receivedMessageItems) {
        messages++;
        const message = decodeStudyMessage(Buffer.from(item.messageText, 'base64').toString('utf8'));
        for (const change of message.changes) instances.add(change.sop);
        omitted += message.omittedChanges ?? 0;
      }
    }
    // A study with more changes than one message holds keeps its newest and counts the rest: every entry is accounted for.
    assert.equal(instances.size + omitted, rows, 'every entry reached the queue');
    assert.ok(messages < rows / 100, `coalesced per study: ${messages} messages for ${rows} entries`);
    console.log(`${rows} entries: ${pollRuns.length} runs (longest ${longest} ms), ${messages} study messages`);
  });
});
