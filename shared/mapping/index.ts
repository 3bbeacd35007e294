export type { MappingOptions, StudyInstance, TagIssue } from './types.js';
export { patientIdentifier, patientSearchParams, toPatient, type PatientIdentifier } from './patient.js';
export {
  endpointCreateCondition,
  endpointNames,
  endpointSearchParams,
  isDicomWebEndpoint,
  toEndpoint,
} from './endpoint.js';
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
export {
  doseObservationIdentity,
  doseObservationKind,
  isDoseReport,
  toDoseObservations,
  type DoseObservationContext,
  type DoseObservationsResult,
} from './doseObservations.js';
export { buildStudyTransaction } from './transaction/studyTransaction.js';
export type { ResourceValidator } from './transaction/plan.js';
export { buildStudyRemoval } from './transaction/removal.js';
export { needsObservationSearch, observationSearchParams } from './transaction/doseObservationEntries.js';
export { screenStudy, studyPatientIdentity, type ScreenedStudy } from './transaction/screen.js';
export type {
  FhirStudyState,
  PlannedEntry,
  PlannedTransaction,
  StudyPlan,
  StudyRemovalPlan,
  StudyTransactionInput,
} from './transaction/plan.js';
