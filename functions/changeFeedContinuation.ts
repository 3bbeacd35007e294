import azureFunctions, { type InvocationContext } from '@azure/functions';
import { runPoll } from '../shared/handlers/pollHandler.js';
import { invocationLog } from '../shared/logging/log.js';
import { pollContinuationQueueName } from '../shared/queue/queueNames.js';
import { getRuntime } from '../shared/runtime/runtime.js';
import { invocationInfo } from '../shared/telemetry/traceContext.js';

/**
 * Queue trigger: the poller left a backlog, carry on now. Runs the same poll as the timer; the checkpoint's
 * ETag keeps a continuation and a timer run that overlap from both moving it.
 */
export async function changeFeedContinuation(_message: unknown, context: InvocationContext): Promise<void> {
  await runPoll(await getRuntime(), invocationLog(context), invocationInfo(context));
}

export const changeFeedContinuationOptions = {
  queueName: pollContinuationQueueName,
  connection: 'AzureWebJobsStorage',
  handler: changeFeedContinuation,
};

azureFunctions.app.storageQueue('changeFeedContinuation', changeFeedContinuationOptions);
