import type { Identifier, Patient } from '@medplum/fhirtypes';
import { Tag, getInstanceUids, getPersonName, getString, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { NonRetryableError } from '../errors/errors.js';
import { compact } from './compact.js';
import { replaceFirst } from './lists.js';
import { toHumanName } from './personName.js';
import { tokenSearchValue } from './search.js';
import { TagReader, tagLabel } from './tags.js';
import type { MappingOptions, TagIssue } from './types.js';
import { omitUndefined } from '../lib/omitUndefined.js';

export interface PatientIdentifier {
  system: string;
  value: string;
}

/**
 * The Patient's identity, as DICOM Cast wrote it: PatientID under `Patient:PatientSystemId`, or under
 * IssuerOfPatientID when `Patient:IsIssuerIdUsed` (an absent issuer gives an empty system).
 */
export function patientIdentifier(dataset: DicomJsonDataset, options: MappingOptions): PatientIdentifier {
  const value = getString(dataset, Tag.PatientID);
  if (value === undefined) {
    const { study, series, sop } = getInstanceUids(dataset);
    throw new NonRetryableError(
      'PatientID is missing',
      'bad-dicom-data',
      omitUndefined({ study, series, instance: sop, tag: tagLabel(Tag.PatientID) }),
    );
  }
  const system = options.isIssuerIdUsed ? (getString(dataset, Tag.IssuerOfPatientID) ?? '') : options.patientSystemId;
  return { system, value };
}

/** `Patient?identifier=S|PatientID`. */
export function patientSearchParams(identifier: PatientIdentifier): Record<string, string> {
  return { identifier: tokenSearchValue(identifier.system, identifier.value) };
}

const genderBySex: ReadonlyMap<string, NonNullable<Patient['gender']>> = new Map([
  ['M', 'male'],
  ['F', 'female'],
  ['O', 'other'],
]);

/** Checks the Patient tags whose values are mapped (PatientSex, PatientBirthDate), recording on `reader`. */
export function checkPatientTags(reader: TagReader): void {
  const sex = reader.string(Tag.PatientSex);
  if (sex !== undefined && !genderBySex.has(sex)) reader.issue('warning', Tag.PatientSex, 'not M, F or O', sex);
  reader.date(Tag.PatientBirthDate);
}

/**
 * The Patient for the current data: a new one (with the identifier) or the existing one updated. An existing
 * Patient keeps its identifiers and other names; its `usual` name is replaced (removed when the data has no
 * name). Gender follows PatientSex; name and gender are written unless `applyNameAndSex` is false (an older
 * study's data, see demographicsSource.ts); birthDate is only written when `applyDemographics`.
 */
export function toPatient(
  dataset: DicomJsonDataset,
  existing: Patient | undefined,
  options: MappingOptions,
  context: { applyDemographics: boolean; applyNameAndSex?: boolean },
): { patient: Patient; issues: TagIssue[] } {
  const uids = getInstanceUids(dataset);
  const reader = new TagReader(dataset, { study: uids.study ?? '', series: uids.series, instance: uids.sop });
  const patient: Patient = existing ? structuredClone(existing) : { resourceType: 'Patient' };

  if (!existing) {
    const { system, value } = patientIdentifier(dataset, options);
    const identifier: Identifier = system ? { system, value } : { value };
    patient.identifier = [identifier];
  }

  if (context.applyNameAndSex ?? true) {
    patient.name = replaceFirst(
      patient.name ?? [],
      (name) => name.use === 'usual',
      toHumanName(getPersonName(dataset, Tag.PatientName)),
    );
    const sex = reader.string(Tag.PatientSex);
    const gender = sex === undefined ? undefined : genderBySex.get(sex);
    if (sex === undefined) delete patient.gender;
    else if (gender !== undefined) patient.gender = gender;
    else reader.issue('warning', Tag.PatientSex, 'not M, F or O', sex);
  }

  if (context.applyDemographics) {
    const birthDate = reader.date(Tag.PatientBirthDate);
    if (birthDate !== undefined) patient.birthDate = birthDate;
    else if (reader.string(Tag.PatientBirthDate) === undefined) delete patient.birthDate;
  }

  const issues = options.enforceValidation
    ? reader.issues.map((issue) => ({ ...issue, severity: 'error' as const }))
    : reader.issues;
  return { patient: compact(patient) ?? { resourceType: 'Patient' }, issues };
}
