import azureFunctions, { type InvocationContext } from '@azure/functions';
import { handleStudyMessage } from '../shared/handlers/studyMessageHandler.js';
import { invocationLog } from '../shared/logging/log.js';
import { studyQueueName } from '../shared/queue/queueNames.js';
import { getRuntime } from '../shared/runtime/runtime.js';
import { invocationInfo } from '../shared/telemetry/traceContext.js';

/** Queue trigger: brings the FHIR Patient, Endpoint and ImagingStudy of one study in line with the DICOM server. */
export async function imagingStudyWriter(queueItem: unknown, context: InvocationContext): Promise<void> {
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
  await handleStudyMessage(
    await getRuntime(),
    queueItem,
    dequeueCount,
    invocationLog(context),
    invocationInfo(context),
  );
}

export const imagingStudyWriterOptions = {
  queueName: studyQueueName,
  connection: 'AzureWebJobsStorage',
  handler: imagingStudyWriter,
};

azureFunctions.app.storageQueue('imagingStudyWriter', imagingStudyWriterOptions);
