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
export {
  buildStudyRemoval,
  buildStudyTransaction,
  needsObservationSearch,
  observationSearchParams,
  studyPatientIdentity,
  type FhirStudyState,
  type PlanFailure,
  type ResourceProblem,
  type StudyRemovalPlan,
  type StudyTransactionInput,
  type StudyTransactionPlan,
} from './transaction.js';
