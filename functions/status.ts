import { registerTrigger } from '../shared/handlers/triggers.js';

/**
 * HTTP trigger: `GET /api/status` (function key), the figures of `dicom-cast status` as JSON.
 * Its binding and adapter are the `status` row of shared/handlers/triggers.ts.
 */
export const status = registerTrigger('status');
