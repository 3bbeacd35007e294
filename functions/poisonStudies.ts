import azureFunctions, { type InvocationContext } from '@azure/functions';
import { invocationLog } from '../shared/logging/log.js';
import { recordPoisonedMessage } from '../shared/ops/poison.js';
import { studyPoisonQueueName } from '../shared/queue/queueNames.js';
import { getRuntime } from '../shared/runtime/runtime.js';
import { invocationInfo } from '../shared/telemetry/traceContext.js';

/**
 * Queue trigger on the poison queue: each study message the writer gave up on becomes one failure record (unless
 * the writer already recorded it on its last attempt), then leaves the queue. Replay with `dicom-cast failures replay`.
 */
export async function poisonStudies(queueItem: unknown, context: InvocationContext): Promise<void> {
  await recordPoisonedMessage(await getRuntime(), queueItem, invocationLog(context), invocationInfo(context));
}

export const poisonStudiesOptions = {
  queueName: studyPoisonQueueName,
  connection: 'AzureWebJobsStorage',
  handler: poisonStudies,
};

azureFunctions.app.storageQueue('poisonStudies', poisonStudiesOptions);
