import type { DicomJsonDataset } from '../dicomweb/dicomJson.js';

/** The settings the mapping depends on; the writer builds this from the validated configuration. */
export interface MappingOptions {
  /** `DicomWeb:Endpoint` (E). */
  endpoint: string;
  /** `Patient:PatientSystemId`, default ''. */
  patientSystemId: string;
  /** `Patient:IsIssuerIdUsed`. */
  isIssuerIdUsed: boolean;
  /** `DicomCast:DefaultTimezoneOffset`, `+HH:MM`, default '+00:00'. */
  defaultTimezoneOffset: string;
  /** `DicomCast:Features:EnforceValidationOfTagValues`. */
  enforceValidation: boolean;
  /** `DicomCast:Features:GenerateObservations`: radiation dose Observations from dose SR instances (unset: off). */
  generateObservations?: boolean;
}

/** A tag problem; warnings are skipped values, errors fail that instance. */
export interface TagIssue {
  severity: 'warning' | 'error';
  study: string;
  series?: string;
  instance?: string;
  /** `(gggg,eeee)` */
  tag: string;
  /** e.g. `PatientSex` */
  keyword: string;
  value?: string;
  reason: string;
}

/** One current instance of the study, as WADO-RS metadata returns it. */
export interface StudyInstance {
  dataset: DicomJsonDataset;
  /** Highest change-feed sequence known for the instance; undefined when unknown. */
  sequence?: number;
}
