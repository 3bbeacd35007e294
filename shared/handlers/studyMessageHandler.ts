import { isRetryable, NonRetryableError, RetryableError } from '../errors/errors.js';
import type { Log } from '../logging/log.js';
import { decodeStudyMessage } from '../queue/studyMessageCodec.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { Runtime } from '../runtime/runtime.js';
import { syncStudy, type StudySyncResult } from '../sync/syncStudy.js';

/** host.json `extensions.queues.maxDequeueCount`; a test keeps the two equal. */
export const maxDequeueCount = 5;

/**
 * Handles one study message. Bad data is recorded and the message completes (retrying would not help);
 * a transient fault is rethrown so the host retries, and on the last attempt it is recorded as well before the
 * host moves the message to the poison queue, so nothing is lost silently.
 */
export async function handleStudyMessage(
  runtime: Runtime,
  queueItem: unknown,
  dequeueCount: number,
  log: Log,
): Promise<StudySyncResult | undefined> {
  let message: StudyMessage;
  try {
    message = decodeStudyMessage(queueItem);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    await runtime.failures.record({ category: 'bad-change-feed-entry', reason, payload: queueItem });
    log('error', `Unreadable study message: ${reason}`);
    return undefined;
  }
  const context = { study: message.study, maxSequence: message.maxSequence, dequeueCount };
  try {
    const result = await syncStudy(
      message,
      {
        dicom: runtime.studyReader,
        fhir: runtime.fhir,
        recordFailure: async (failure) => {
          await runtime.failures.record(failure);
        },
        log: (level, text, properties) => log(level, text, { ...context, ...properties }),
      },
      { mapping: runtime.mapping },
    );
    log('info', `Study ${result.outcome}`, {
      ...context,
      imagingStudyId: result.imagingStudyId,
      series: result.series,
      instances: result.instances,
      attempts: result.attempts,
      warnings: result.warnings.length,
      rejectedInstances: result.rejectedInstances,
    });
    return result;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (!isRetryable(error)) {
      const located = error instanceof NonRetryableError ? error : undefined;
      await runtime.failures.record({
        category: located?.category ?? 'fhir-rejected',
        reason,
        study: message.study,
        ...(located?.location.series ? { series: located.location.series } : {}),
        ...(located?.location.instance ? { instance: located.location.instance } : {}),
        ...(located?.location.tag ? { tag: located.location.tag } : {}),
        sequence: message.maxSequence,
        attempts: dequeueCount,
        payload: message,
      });
      log('error', `Study not synchronised (recorded, not retried): ${reason}`, context);
      return undefined;
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
    log('warn', `Study sync failed, will be retried: ${reason}`, context);
    throw error;
  }
}
