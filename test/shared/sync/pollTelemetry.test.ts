import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { pollChangeFeed, type PollDependencies } from '../../../shared/sync/poll.js';
import { SpanName } from '../../../shared/telemetry/names.js';
import { formatTraceparent } from '../../../shared/telemetry/traceContext.js';
import { startFakeChangeFeed, timestampAt, type FakeChangeFeed } from '../../support/fakeChangeFeed.js';
import { memoryPollStores } from '../../support/memoryPollStores.js';

/**
 * What the poller reports per flush: a span per study message whose traceparent the queued message carries, the
 * count of messages enqueued, and spans ended in error when the queue refused them. In-memory exporter and stores,
 * loopback change feed; the whole trace through the writer is test/shared/telemetry/telemetry.test.ts.
 */
describe('pollChangeFeed telemetry', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let feed: FakeChangeFeed;
  before(async () => {
    feed = await startFakeChangeFeed();
    feed.addSpecs(
      [1, 2, 3, 4].map((sequence) => ({ sequence, timestamp: timestampAt(sequence), study: `1.2.5${sequence % 2}` })),
    );
  });
  after(async () => {
    await feed.close();
    await provider.shutdown();
  });

  function deps(counts: number[]): PollDependencies {
    exporter.reset();
    return {
      feed: createChangeFeedClient(
        createServerHttpClient({ baseUrl: feed.baseUrl, authorization: noAuthorization }),
        'v2',
      ),
      ...memoryPollStores(),
      now: Date.now,
      telemetry: { tracer: provider.getTracer('poll-test'), recordMessagesEnqueued: (count) => counts.push(count) },
    };
  }

  it('each queued message carries the traceparent of its enqueue span; each flush counts what it enqueued', async () => {
    const counts: number[] = [];
    const run = deps(counts);
    const result = await pollChangeFeed(run, { version: 'v2', pageSize: 2, maxRunMs: 60_000, flushEveryEntries: 2 });
    assert.equal(result.messagesEnqueued, 4);
    assert.deepEqual(counts, [2, 2]);
    const spans = exporter.getFinishedSpans().filter((span) => span.name === SpanName.enqueue);
    assert.equal(spans.length, 4);
    const queue = run.queue as ReturnType<typeof memoryPollStores>['queue'];
    assert.deepEqual(
      queue.messages().map((message) => message.traceparent),
      spans.map((span) => formatTraceparent(span.spanContext())),
    );
    for (const span of spans) assert.equal(span.status.code, SpanStatusCode.UNSET);
  });

  it('a queue that refuses the messages: the run fails, the spans end in error, nothing is counted', async () => {
    const counts: number[] = [];
    const run = deps(counts);
    const refusing: PollDependencies = {
      ...run,
      queue: { send: () => Promise.reject(new RetryableError('queue unavailable', 'transient')) },
    };
    await assert.rejects(
      pollChangeFeed(refusing, { version: 'v2', pageSize: 10, maxRunMs: 60_000 }),
      /queue unavailable/,
    );
    assert.deepEqual(counts, []);
    const spans = exporter.getFinishedSpans().filter((span) => span.name === SpanName.enqueue);
    assert.equal(spans.length, 2);
    for (const span of spans) {
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.match(span.status.message ?? '', /queue unavailable/);
    }
  });
});
