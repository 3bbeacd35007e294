import { isPlainObject } from '../lib/isPlainObject.js';

/**
 * DICOM JSON model (PS3.18 Annex F): the shape of WADO-RS metadata and of change-feed `Metadata`.
 * Keys are 8 hex digits; the standard says upper case, but we accept either case.
 */
export interface DicomPersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

export type DicomJsonValue = string | number | DicomPersonName | DicomJsonDataset | null;

export interface DicomJsonAttribute {
  vr: string;
  Value?: DicomJsonValue[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

/** Tags used by the sync path, upper-case 8-hex form. */
export const Tag = {
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDate: '00080020',
  SeriesDate: '00080021',
  StudyTime: '00080030',
  SeriesTime: '00080031',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  ReferringPhysicianName: '00080090',
  CodeValue: '00080100',
  CodingSchemeDesignator: '00080102',
  CodeMeaning: '00080104',
  CodingSchemeUID: '0008010C',
  LongCodeValue: '00080119',
  URNCodeValue: '00080120',
  TimezoneOffsetFromUTC: '00080201',
  StudyDescription: '00081030',
  ProcedureCodeSequence: '00081032',
  SeriesDescription: '0008103E',
  PerformingPhysicianName: '00081050',
  NameOfPhysiciansReadingStudy: '00081060',
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  BodyPartExamined: '00180015',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  Laterality: '00200060',
  ImageLaterality: '00200062',
  ReasonForPerformedProcedureCodeSequence: '00401012',
  ConceptNameCodeSequence: '0040A043',
  DocumentTitle: '00420010',
} as const;

/** Datasets whose keys are all upper case (as DICOM JSON writes them): a tag they lack is simply absent. */
const upperCaseKeyed = new WeakSet<DicomJsonDataset>();

function hasOnlyUpperCaseKeys(dataset: DicomJsonDataset): boolean {
  if (upperCaseKeyed.has(dataset)) return true;
  if (!Object.keys(dataset).every((key) => key === key.toUpperCase())) return false;
  upperCaseKeyed.add(dataset);
  return true;
}

/** Finds an attribute whatever the case of its key; undefined when it is not an attribute object. */
export function getAttribute(dataset: DicomJsonDataset, tag: string): DicomJsonAttribute | undefined {
  if (!isPlainObject(dataset)) return undefined;
  // The mapping looks up every optional tag of every instance: the common cases must not scan the keys.
  const upper = tag.toUpperCase();
  let found: unknown = dataset[tag] ?? dataset[upper] ?? dataset[upper.toLowerCase()];
  if (found === undefined && !(upper === tag && hasOnlyUpperCaseKeys(dataset))) {
    const key = Object.keys(dataset).find((candidate) => candidate.toUpperCase() === upper);
    if (key !== undefined) found = dataset[key];
  }
  return isPlainObject(found) ? (found as unknown as DicomJsonAttribute) : undefined;
}

/**
 * All values of an attribute (empty when absent or present without `Value`). A `Value` that is not an array is
 * malformed (dicomJsonShape.ts rejects the instance) and reads as no value here: a string must never be indexed
 * into its first character.
 */
export function getValues(dataset: DicomJsonDataset, tag: string): DicomJsonValue[] {
  const values: unknown = getAttribute(dataset, tag)?.Value;
  return Array.isArray(values) ? (values as DicomJsonValue[]) : [];
}

/**
 * The first value of a string-like attribute, trimmed (NUL padding too), or undefined when absent or empty.
 * Numbers (IS/DS sent as JSON numbers) are turned into their decimal text.
 */
export function getString(dataset: DicomJsonDataset, tag: string): string | undefined {
  const first = getValues(dataset, tag)[0];
  if (typeof first === 'string') {
    // UI values are padded to an even length with NUL (PS3.5 6.2), which some servers pass on.
    const trimmed = first.replace(/\0+$/, '').trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (typeof first === 'number' && Number.isFinite(first)) return String(first);
  return undefined;
}

/** All non-empty string values of a (possibly multi-valued) attribute. */
export function getStrings(dataset: DicomJsonDataset, tag: string): string[] {
  const out: string[] = [];
  for (const value of getValues(dataset, tag)) {
    if (typeof value === 'string' && value.trim() !== '') out.push(value.trim());
    else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
  }
  return out;
}

/** A person-name value with only its string groups; undefined for anything else. */
function toPersonName(value: DicomJsonValue | undefined): DicomPersonName | undefined {
  if (typeof value === 'string') return { Alphabetic: value };
  if (!isPlainObject(value)) return undefined;
  const name: DicomPersonName = {};
  for (const group of ['Alphabetic', 'Ideographic', 'Phonetic'] as const) {
    const text = value[group];
    if (typeof text === 'string') name[group] = text;
  }
  return name;
}

/** The first person-name value, or undefined. */
export function getPersonName(dataset: DicomJsonDataset, tag: string): DicomPersonName | undefined {
  return toPersonName(getValues(dataset, tag)[0]);
}

/** All person-name values. */
export function getPersonNames(dataset: DicomJsonDataset, tag: string): DicomPersonName[] {
  return getValues(dataset, tag)
    .map(toPersonName)
    .filter((name): name is DicomPersonName => name !== undefined);
}

/** Items of a sequence (SQ) attribute: the values that are DICOM JSON objects. */
export function getSequenceItems(dataset: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  return getValues(dataset, tag).filter(
    (value): value is DicomJsonDataset => isPlainObject(value) && !('Alphabetic' in value),
  );
}

/** The three identifying UIDs of an instance, if all present. */
export interface InstanceUids {
  study: string;
  series: string;
  sop: string;
}

/** Each of the three UIDs, undefined when the dataset lacks it. */
export function getInstanceUids(dataset: DicomJsonDataset): { [K in keyof InstanceUids]: InstanceUids[K] | undefined } {
  return {
    study: getString(dataset, Tag.StudyInstanceUID),
    series: getString(dataset, Tag.SeriesInstanceUID),
    sop: getString(dataset, Tag.SOPInstanceUID),
  };
}
