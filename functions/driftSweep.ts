import { registerTrigger } from '../shared/handlers/triggers.js';

/**
 * Timer trigger: one bounded drift-sweep run (archive vs FHIR), resuming from its cursor.
 * Its binding and adapter are the `driftSweep` row of shared/handlers/triggers.ts.
 */
export const driftSweep = registerTrigger('driftSweep');
