/**
 * Queue names are fixed: the Functions host reads the queue trigger's name when it indexes the app, and a
 * fixed name keeps the Bicep, the host and the CLI in agreement with no setting to forget.
 */
export const studyQueueName = 'dicomcast-studies';
/** A message here restarts the poller at once while a change-feed backlog remains. */
export const pollContinuationQueueName = 'dicomcast-poll';
/** Where the host moves a study message after maxDequeueCount failed attempts. */
export const studyPoisonQueueName = `${studyQueueName}-poison`;
