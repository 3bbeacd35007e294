import { registerTrigger } from '../shared/handlers/triggers.js';

/**
 * Timer trigger: reads the DICOM change feed from the checkpoint and enqueues one message per changed study.
 * Its binding and adapter are the `changeFeedPoller` row of shared/handlers/triggers.ts.
 */
export const changeFeedPoller = registerTrigger('changeFeedPoller');
