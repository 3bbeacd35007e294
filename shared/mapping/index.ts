export type { MappingOptions, StudyInstance, TagIssue } from './types.js';
export { patientIdentifier, patientSearchParams, toPatient, type PatientIdentifier } from './patient.js';
export { endpointNames, endpointSearchParams, isDicomWebEndpoint, toEndpoint } from './endpoint.js';
export {
  imagingStudyIdentifier,
  imagingStudySearchParams,
  toImagingStudy,
  type ImagingStudyInput,
  type ImagingStudyResult,
} from './imagingStudy.js';
export type { RejectedInstance } from './instanceRecord.js';
export { compact } from './compact.js';
export { tagKeyword, tagLabel } from './tags.js';
