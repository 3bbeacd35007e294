import { registerTrigger } from '../shared/handlers/triggers.js';

/**
 * Queue trigger (`dicomcast-poll`): the poller left a backlog, carry on now with the same poll.
 * Its binding and adapter are the `changeFeedContinuation` row of shared/handlers/triggers.ts.
 */
export const changeFeedContinuation = registerTrigger('changeFeedContinuation');
