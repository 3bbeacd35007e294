import type { SpanContext } from '@opentelemetry/api';
import { decodeStudyMessage } from '../queue/studyMessageCodec.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { Correlation } from '../telemetry/correlation.js';
import { parseTraceparent } from '../telemetry/traceContext.js';

/**
 * A queue item as the writer and the poison function receive it: the study message (or why it could not be read),
 * the correlation of its change, and the poller's span it continues.
 */
export interface ReceivedStudyMessage {
  message?: StudyMessage;
  /** Set when the item is not a study message: the error that says why. */
  unreadable?: unknown;
  correlation?: Correlation;
  pollerSpan?: SpanContext;
}

export function receiveStudyMessage(queueItem: unknown): ReceivedStudyMessage {
  let message: StudyMessage;
  try {
    message = decodeStudyMessage(queueItem);
  } catch (error) {
    return { unreadable: error };
  }
  const pollerSpan = parseTraceparent(message.traceparent);
  return {
    message,
    correlation: {
      study: message.study,
      sequence: message.maxSequence,
      ...(message.partition ? { partition: message.partition } : {}),
    },
    ...(pollerSpan ? { pollerSpan } : {}),
  };
}
