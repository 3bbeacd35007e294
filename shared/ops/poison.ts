import { context, SpanKind, trace } from '@opentelemetry/api';
import { maxDequeueCount } from '../handlers/studyMessageHandler.js';
import type { Log } from '../logging/log.js';
import { studyPoisonQueueName } from '../queue/queueNames.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { Runtime } from '../runtime/runtime.js';
import type { FailureRecord } from '../state/failureStore.js';
import { Attr, SpanName } from '../telemetry/names.js';
import { correlationAttributes, correlationId } from '../telemetry/correlation.js';
import type { InvocationInfo } from '../telemetry/traceContext.js';
import { isPoisonRecord } from './status.js';
import { receiveStudyMessage } from '../handlers/receivedStudyMessage.js';
import { errorMessage } from '../lib/errorDetails.js';

export interface PoisonOutcome {
  /** True when this call wrote a failure record; false when the writer had already recorded the message. */
  recorded: boolean;
  /** The record that now stands for the message (new or existing). */
  failureId: string;
  study?: string;
}

export interface PoisonOptions {
  now?: () => number;
  /** How far back a record of the writer's last attempt is looked for (default 7 days: the poison queue's TTL). */
  lookbackHours?: number;
}

function samePartition(record: FailureRecord, message: StudyMessage): boolean {
  const payload = record.payload as { partition?: unknown } | undefined;
  const recorded = typeof payload?.partition === 'string' ? payload.partition : undefined;
  return recorded === message.partition;
}

/**
 * Turns one message of the poison queue into a failure record, once. The writer records a message on its last
 * attempt, just before the host moves it here; this only records it when no such record exists (a writer that
 * timed out or crashed, or a failed record write), so each poisoned message stands in the failure table exactly once,
 * with its payload to replay. Messages are matched on study, partition and maxSequence.
 * The message is then consumed: the failure record replaces it (`dicom-cast failures replay`).
 */
export async function recordPoisonedMessage(
  runtime: Pick<Runtime, 'failures' | 'telemetry'>,
  queueItem: unknown,
  log: Log,
  invocation: InvocationInfo = {},
  options: PoisonOptions = {},
): Promise<PoisonOutcome> {
  const { telemetry } = runtime;
  const now = options.now ?? Date.now;
  const { message, unreadable, correlation, pollerSpan } = receiveStudyMessage(queueItem);
  const parent = pollerSpan ? trace.setSpanContext(context.active(), pollerSpan) : context.active();

  return telemetry.inSpan(
    SpanName.poison,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...(correlation ? correlationAttributes(correlation) : {}),
        [Attr.messagingSystem]: 'azure_queue',
        [Attr.queue]: studyPoisonQueueName,
        ...(invocation.id ? { [Attr.invocationId]: invocation.id } : {}),
      },
    },
    parent,
    async () => {
      const poisonLog = telemetry.log(log, {
        ...(correlation
          ? { correlationId: correlationId(correlation), study: correlation.study, maxSequence: correlation.sequence }
          : {}),
        ...(invocation.id ? { invocationId: invocation.id } : {}),
      });
      if (!message) {
        const reason = errorMessage(unreadable);
        const record = await runtime.failures.record({
          category: 'bad-change-feed-entry',
          reason: `A message on the poison queue could not be read: ${reason}`,
          attempts: maxDequeueCount,
          payload: queueItem,
        });
        telemetry.recordPoisoned(true);
        poisonLog('error', 'Unreadable poisoned message recorded', { id: record.id });
        return { recorded: true, failureId: record.id };
      }

      const since = new Date(now() - (options.lookbackHours ?? 7 * 24) * 3_600_000);
      const found = message;
      const existing = (await runtime.failures.list({ since, limit: 5_000 })).find(
        (record) =>
          isPoisonRecord(record) &&
          record.study === found.study &&
          record.sequence === found.maxSequence &&
          samePartition(record, found),
      );
      if (existing) {
        telemetry.recordPoisoned(false);
        poisonLog('info', 'Poisoned message already recorded by the writer', { id: existing.id });
        return { recorded: false, failureId: existing.id, study: message.study };
      }
      const record = await runtime.failures.record({
        category: 'transient',
        reason:
          `The message went to the poison queue after ${maxDequeueCount} failed attempts and the writer left no ` +
          'failure record (it may have timed out or crashed before recording)',
        study: message.study,
        sequence: message.maxSequence,
        attempts: maxDequeueCount,
        payload: message,
      });
      telemetry.recordPoisoned(true);
      poisonLog('warn', 'Poisoned message recorded', { id: record.id });
      return { recorded: true, failureId: record.id, study: message.study };
    },
  );
}
