import { context, SpanKind, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import { failureOf, isRetryable, NonRetryableError, RetryableError } from '../errors/errors.js';
import { withRetryBudget } from '../http/retryBudget.js';
import type { Log } from '../logging/log.js';
import { studyQueueName } from '../queue/queueNames.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { Runtime } from '../runtime/runtime.js';
import { syncStudy } from '../sync/syncStudy.js';
import type { StudySyncResult } from '../sync/studySyncTypes.js';
import { receiveStudyMessage } from './receivedStudyMessage.js';
import { Attr, SpanName, type WriteOutcome } from '../telemetry/names.js';
import { correlationAttributes, correlationId } from '../telemetry/correlation.js';
import { contextFromTraceparent, parseTraceparent, type InvocationInfo } from '../telemetry/traceContext.js';
import { errorMessage } from '../lib/errorDetails.js';

/** host.json `extensions.queues.maxDequeueCount`; a test keeps the two equal. */
export const maxDequeueCount = 5;

/**
 * Handles one study message. Bad data is recorded and the message completes (retrying would not help);
 * a transient fault is rethrown so the host retries, and on the last attempt it is recorded as well before the
 * host moves the message to the poison queue, so nothing is lost silently.
 *
 * Telemetry: the invocation is a CONSUMER span whose parent is the poller's span named by the message's
 * traceparent (the same trace on both sides of the queue), linked to the host's own trace of the invocation.
 * Every log line carries the change's correlation id (`<study>@<maxSequence>`).
 */
export async function handleStudyMessage(
  runtime: Runtime,
  queueItem: unknown,
  dequeueCount: number,
  log: Log,
  invocation: InvocationInfo = {},
): Promise<StudySyncResult | undefined> {
  const { telemetry } = runtime;
  const started = performance.now();
  const { message, unreadable, correlation, pollerSpan: fromPoller } = receiveStudyMessage(queueItem);
  const hostTrace = parseTraceparent(invocation.traceparent);
  const parent = fromPoller
    ? trace.setSpanContext(context.active(), fromPoller)
    : contextFromTraceparent(invocation.traceparent, context.active());
  const links: Link[] = fromPoller && hostTrace ? [{ context: hostTrace }] : [];

  return telemetry.inSpan(
    SpanName.write,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...(correlation ? correlationAttributes(correlation) : {}),
        [Attr.dequeueCount]: dequeueCount,
        [Attr.messagingSystem]: 'azure_queue',
        [Attr.queue]: studyQueueName,
        ...(invocation.id ? { [Attr.invocationId]: invocation.id } : {}),
      },
    },
    parent,
    async (span) => {
      const writerLog = telemetry.log(log, {
        ...(correlation
          ? {
              correlationId: correlationId(correlation),
              study: correlation.study,
              maxSequence: correlation.sequence,
              ...(correlation.partition ? { partition: correlation.partition } : {}),
            }
          : {}),
        dequeueCount,
        ...(invocation.id ? { invocationId: invocation.id } : {}),
      });
      let outcome: WriteOutcome = 'failed';
      try {
        if (!message) {
          const reason = errorMessage(unreadable);
          await runtime.failures.record({ category: 'bad-change-feed-entry', reason, payload: queueItem });
          writerLog('error', `Unreadable study message: ${reason}`);
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'Unreadable study message' });
          return undefined;
        }
        // Every FHIR and DICOM request of this invocation waits out transient failures from one budget.
        const result = await withRetryBudget(runtime.config.transport.retryBudgetMs, () =>
          writeStudy(runtime, message, dequeueCount, writerLog),
        );
        outcome = result.outcome;
        if (result.outcome === 'failed')
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'Recorded as a failure' });
        return result.result;
      } catch (error) {
        outcome = dequeueCount >= maxDequeueCount ? 'gave-up' : 'retried';
        throw error;
      } finally {
        span.setAttribute(Attr.outcome, outcome);
        telemetry.recordWrite(outcome, performance.now() - started, dequeueCount);
      }
    },
  );
}

async function writeStudy(
  runtime: Runtime,
  message: StudyMessage,
  dequeueCount: number,
  log: Log,
): Promise<{ outcome: WriteOutcome; result?: StudySyncResult }> {
  try {
    const result = await syncStudy(
      message,
      {
        dicom: runtime.studyReader,
        fhir: runtime.fhir,
        recordFailure: async (failure) => {
          await runtime.failures.record(failure);
        },
        recordWarnings: (study, warnings) => runtime.tagWarnings.record(study, warnings),
        log,
      },
      { mapping: runtime.mapping, maxBundleEntries: runtime.config.fhir.maxBundleEntries },
    );
    log('info', `Study ${result.outcome}`, {
      outcome: result.outcome,
      imagingStudyId: result.imagingStudyId,
      seriesCount: result.series,
      instanceCount: result.instances,
      attempts: result.attempts,
      warnings: result.warnings.length,
      rejectedInstances: result.rejectedInstances,
    });
    return { outcome: result.outcome, result };
  } catch (error) {
    const reason = errorMessage(error);
    if (!isRetryable(error)) {
      const located = error instanceof NonRetryableError ? error : undefined;
      await runtime.failures.record({
        ...(located ? failureOf(located) : { category: 'fhir-rejected', reason }),
        study: message.study,
        sequence: message.maxSequence,
        attempts: dequeueCount,
        payload: message,
      });
      log('error', `Study not synchronised (recorded, not retried): ${reason}`, {
        ...(located ? { category: located.category } : {}),
      });
      return { outcome: 'failed' };
    }
    if (dequeueCount >= maxDequeueCount) {
      await runtime.failures.record({
        category: error instanceof RetryableError ? error.category : 'transient',
        reason: `Gave up after ${dequeueCount} attempts; the message goes to the poison queue: ${reason}`,
        study: message.study,
        sequence: message.maxSequence,
        attempts: dequeueCount,
        payload: message,
      });
    }
    log('warn', `Study sync failed, will be retried: ${reason}`);
    throw error;
  }
}
