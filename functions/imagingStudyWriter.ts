import { registerTrigger } from '../shared/handlers/triggers.js';

/**
 * Queue trigger (`dicomcast-studies`): brings the FHIR Patient, Endpoint and ImagingStudy of one study in line with
 * the DICOM server.
 * Its binding and adapter are the `imagingStudyWriter` row of shared/handlers/triggers.ts.
 */
export const imagingStudyWriter = registerTrigger('imagingStudyWriter');
