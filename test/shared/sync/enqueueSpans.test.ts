import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ChangeFeedEntry } from '../../../shared/dicomweb/changeFeedEntry.js';
import { studyQueueName } from '../../../shared/queue/queueNames.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { startEnqueueSpans } from '../../../shared/sync/enqueueSpans.js';
import { Attr, SpanName } from '../../../shared/telemetry/names.js';
import { formatTraceparent } from '../../../shared/telemetry/traceContext.js';

/**
 * The enqueue spans of a flush, exported to memory: one root PRODUCER span per study message, linked to the poll's
 * span, whose traceparent the message carries (the writer continues that trace). The end to end version, through the
 * queue to the writer, is test/shared/telemetry/telemetry.test.ts.
 */
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('enqueue-spans-test');
const contextManager = new AsyncLocalStorageContextManager();

function message(study: string, maxSequence: number, changes: number, partition?: string): StudyMessage {
  return {
    study,
    ...(partition ? { partition } : {}),
    maxSequence,
    changes: Array.from({ length: changes }, (_, i) => ({
      series: `${study}.1`,
      sop: `${study}.1.${i}`,
      action: 'create' as const,
      sequence: maxSequence - i,
      state: 'current' as const,
    })),
  };
}

function entry(study: string, sequence: number, timestamp: string, partitionName?: string): ChangeFeedEntry {
  return {
    sequence,
    studyInstanceUid: study,
    seriesInstanceUid: `${study}.1`,
    sopInstanceUid: `${study}.1.${sequence}`,
    action: 'create',
    state: 'current',
    timestamp,
    ...(partitionName ? { partitionName } : {}),
  };
}

describe('startEnqueueSpans', () => {
  before(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  after(async () => {
    context.disable();
    await provider.shutdown();
  });
  beforeEach(() => exporter.reset());

  it('starts one root producer span per message, linked to the poll, and puts its traceparent on the message', () => {
    const poll = tracer.startSpan('poll');
    const messages = [message('1.2.1', 7, 2), message('1.2.2', 9, 1, 'radiology')];
    const spans = context.with(trace.setSpan(context.active(), poll), () => startEnqueueSpans(tracer, messages, []));
    spans.end();
    poll.end();

    const finished = exporter.getFinishedSpans().filter((span) => span.name === SpanName.enqueue);
    assert.equal(finished.length, 2);
    assert.equal(spans.messages.length, 2);
    for (const [index, span] of finished.entries()) {
      const sent = spans.messages[index]!;
      assert.equal(sent.study, messages[index]!.study, 'the messages keep their order and content');
      assert.deepEqual(sent.changes, messages[index]!.changes);
      assert.equal(sent.traceparent, formatTraceparent(span.spanContext()));
      assert.equal(span.kind, SpanKind.PRODUCER);
      assert.equal(span.parentSpanContext, undefined, 'a root span: each change is a trace of its own');
      assert.notEqual(span.spanContext().traceId, poll.spanContext().traceId);
      assert.deepEqual(
        span.links.map((link) => link.context.spanId),
        [poll.spanContext().spanId],
      );
      assert.equal(span.attributes[Attr.messagingSystem], 'azure_queue');
      assert.equal(span.attributes[Attr.queue], studyQueueName);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    }
    assert.equal(finished[0]!.attributes[Attr.study], '1.2.1');
    assert.equal(finished[0]!.attributes[Attr.sequence], 7);
    assert.equal(finished[0]!.attributes[Attr.changes], 2);
    assert.equal(finished[0]!.attributes[Attr.correlationId], '1.2.1@7');
    assert.equal(finished[0]!.attributes[Attr.partition], undefined);
    assert.equal(finished[1]!.attributes[Attr.changes], 1);
    assert.equal(finished[1]!.attributes[Attr.partition], 'radiology');
    assert.equal(finished[1]!.attributes[Attr.correlationId], 'radiology/1.2.2@9');
    assert.equal(messages[0]!.traceparent, undefined, 'the input messages are left alone');
  });

  it('outside a poll span the spans have no link', () => {
    const spans = startEnqueueSpans(tracer, [message('1.2.1', 7, 1)], []);
    spans.end();
    const [span] = exporter.getFinishedSpans();
    assert.deepEqual(span?.links, []);
  });

  it("names each study's newest change-feed entry time, per partition, whatever order the entries come in", () => {
    const entries = [
      entry('1.2.1', 3, '2026-03-01T10:00:05Z'),
      entry('1.2.1', 1, '2026-03-01T10:00:01Z'),
      entry('1.2.1', 2, '2026-03-01T10:00:09Z', 'other'),
      entry('1.2.9', 4, '2026-03-01T10:00:30Z'),
      // Partition `a` with study `1.2.1` must not be confused with partition `a1` and study `.2.1`.
      entry('.2.1', 5, '2026-03-01T10:00:40Z', 'a1'),
    ];
    const spans = startEnqueueSpans(
      tracer,
      [message('1.2.1', 3, 2), message('1.2.1', 2, 1, 'other'), message('1.2.1', 6, 1, 'a'), message('1.2.7', 8, 1)],
      entries,
    );
    spans.end();
    const times = exporter.getFinishedSpans().map((span) => span.attributes[Attr.entryTime]);
    assert.deepEqual(times, ['2026-03-01T10:00:05Z', '2026-03-01T10:00:09Z', undefined, undefined]);
  });

  it("a study's later entry replaces the entry time of an earlier one read before it", () => {
    const entries = [
      entry('1.2.1', 1, '2026-03-01T10:00:01Z'),
      entry('1.2.1', 2, '2026-03-01T10:00:07Z'),
      entry('1.2.1', 3, '2026-03-01T10:00:03Z'),
    ];
    const spans = startEnqueueSpans(tracer, [message('1.2.1', 3, 3)], entries);
    spans.end();
    const times = exporter.getFinishedSpans().map((span) => span.attributes[Attr.entryTime]);
    assert.deepEqual(times, ['2026-03-01T10:00:07Z']);
  });

  it('ends every span with the error when the messages did not reach the queue, scrubbed', () => {
    const spans = startEnqueueSpans(tracer, [message('1.2.1', 7, 1), message('1.2.2', 8, 1)], []);
    spans.end(new Error('queue refused: sig=c2VjcmV0IHNpZ25hdHVyZQ%3D%3D'));
    const finished = exporter.getFinishedSpans();
    assert.equal(finished.length, 2);
    for (const span of finished) {
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.match(span.status.message ?? '', /queue refused/);
      assert.doesNotMatch(span.status.message ?? '', /c2VjcmV0/);
    }
  });

  it('without an SDK (a non-recording tracer) the messages carry no traceparent', () => {
    const spans = startEnqueueSpans(trace.getTracer('no-sdk'), [message('1.2.1', 7, 1)], []);
    spans.end();
    assert.equal(spans.messages[0]!.traceparent, undefined);
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});
