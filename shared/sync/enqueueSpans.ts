import {
  context,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { ChangeFeedEntry } from '../dicomweb/changeFeedEntry.js';
import { studyQueueName } from '../queue/queueNames.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { correlationAttributes } from '../telemetry/correlation.js';
import { Attr, SpanName } from '../telemetry/names.js';
import { scrubbedErrorMessage } from '../telemetry/redaction.js';
import { formatTraceparent } from '../telemetry/traceContext.js';

/** The study messages of one flush, each carrying its own span's traceparent, and how to end those spans. */
export interface EnqueueSpans {
  messages: StudyMessage[];
  /** Ends every span of the flush; with an error when the messages did not reach the queue. */
  end(error?: unknown): void;
}

/**
 * One PRODUCER span per study message, started in the poll's context. Each change is a trace of its own (a root
 * span linked to the poll's span): in Application Insights one operation is one change, from the poller through
 * the queue to the writer and its FHIR/DICOM calls, rather than every study of a poll in one operation. The
 * message carries its span's traceparent, so the writer continues that trace.
 */
export function startEnqueueSpans(
  tracer: Tracer,
  messages: readonly StudyMessage[],
  entries: readonly ChangeFeedEntry[],
): EnqueueSpans {
  const poll = trace.getSpanContext(context.active());
  const links = poll && isSpanContextValid(poll) ? [{ context: poll }] : [];
  const newest = newestEntryTimes(entries);
  const spans: Span[] = [];
  const traced = messages.map((message) => {
    const entryTime = newest.get(entryKey(message.partition, message.study));
    const span = tracer.startSpan(SpanName.enqueue, {
      kind: SpanKind.PRODUCER,
      root: true,
      links,
      attributes: {
        ...correlationAttributes({
          study: message.study,
          sequence: message.maxSequence,
          ...(message.partition ? { partition: message.partition } : {}),
        }),
        [Attr.changes]: message.changes.length,
        [Attr.messagingSystem]: 'azure_queue',
        [Attr.queue]: studyQueueName,
        ...(entryTime ? { [Attr.entryTime]: entryTime } : {}),
      },
    });
    spans.push(span);
    const traceparent = formatTraceparent(span.spanContext());
    return traceparent ? { ...message, traceparent } : message;
  });
  return {
    messages: traced,
    end: (error) => {
      for (const span of spans) {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: scrubbedErrorMessage(error) });
        span.end();
      }
    },
  };
}

function entryKey(partition: string | undefined, study: string): string {
  return `${partition ?? ''}\u0000${study}`;
}

/** When the newest change-feed entry of each study was written on the DICOM server. */
function newestEntryTimes(entries: readonly ChangeFeedEntry[]): Map<string, string> {
  const newest = new Map<string, string>();
  for (const entry of entries) {
    const key = entryKey(entry.partitionName, entry.studyInstanceUid);
    const known = newest.get(key);
    if (entry.timestamp && (!known || entry.timestamp > known)) newest.set(key, entry.timestamp);
  }
  return newest;
}
