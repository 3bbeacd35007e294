import { registerTrigger } from '../shared/handlers/triggers.js';

/**
 * Queue trigger (`dicomcast-studies-poison`): a failure record for every study message the writer gave up on.
 * Its binding and adapter are the `poisonStudies` row of shared/handlers/triggers.ts.
 */
export const poisonStudies = registerTrigger('poisonStudies');
