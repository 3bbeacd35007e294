// Turns what dcmjs reads into the DICOM JSON the Azure DICOM service returns (PS3.18 Annex F).
import type {
  DicomJsonAttribute,
  DicomJsonDataset,
  DicomJsonValue,
  DicomPersonName,
} from '../../shared/dicomweb/dicomJson.js';
import type { DcmjsAttribute, DcmjsDict } from './dcmjs.js';

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const NUMERIC_STRING_VRS = new Set(['IS', 'DS']);
/** Pixel data never goes into metadata; other binary values only when small (inline base64). */
const PIXEL_DATA_TAGS = new Set(['7FE00010', '7FE00008', '7FE00009']);
const MAX_INLINE_BINARY_BYTES = 1024;

export function toDicomJson(dict: DcmjsDict): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const key of Object.keys(dict).sort()) {
    const tag = key.toUpperCase();
    const attribute = dict[key];
    if (!attribute || PIXEL_DATA_TAGS.has(tag) || tag.startsWith('0002')) continue;
    const converted = convertAttribute(attribute);
    if (converted) out[tag] = converted;
  }
  return out;
}

function convertAttribute(attribute: DcmjsAttribute): DicomJsonAttribute | undefined {
  const vr = attribute.vr;
  const values = attribute.Value ?? [];
  if (BINARY_VRS.has(vr)) {
    const bytes = values[0];
    if (!(bytes instanceof ArrayBuffer) || bytes.byteLength === 0) return { vr };
    if (bytes.byteLength > MAX_INLINE_BINARY_BYTES) return undefined;
    return { vr, InlineBinary: Buffer.from(bytes).toString('base64') };
  }
  let converted: DicomJsonValue[];
  if (vr === 'SQ') {
    converted = values.filter(isObject).map((item) => toDicomJson(item as DcmjsDict));
  } else if (vr === 'PN') {
    converted = values.map(toPersonName);
  } else {
    converted = values.map((value) => toScalar(value, NUMERIC_STRING_VRS.has(vr)));
  }
  return converted.some((value) => value !== null) ? { vr, Value: converted } : { vr };
}

function toPersonName(value: unknown): DicomPersonName | null {
  if (typeof value === 'string') return value.trim() === '' ? null : { Alphabetic: value.trim() };
  if (!isObject(value)) return null;
  const name: DicomPersonName = {};
  for (const group of ['Alphabetic', 'Ideographic', 'Phonetic'] as const) {
    const text = (value as Record<string, unknown>)[group];
    if (typeof text === 'string' && text.trim() !== '') name[group] = text.trim();
  }
  return Object.keys(name).length > 0 ? name : null;
}

function toScalar(value: unknown, numericString: boolean): string | number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (numericString) {
    const number = Number(trimmed);
    if (Number.isFinite(number)) return number;
  }
  return trimmed;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof ArrayBuffer);
}

/** DICOM JSON attribute → the form dcmjs writes (empty values as an empty string, base64 as bytes). */
export function toDcmjsAttribute(attribute: DicomJsonAttribute): DcmjsAttribute {
  if (attribute.InlineBinary !== undefined) {
    const bytes = Buffer.from(attribute.InlineBinary, 'base64');
    return { vr: attribute.vr, Value: [bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)] };
  }
  const values = attribute.Value ?? [];
  if (attribute.vr === 'SQ') {
    return {
      vr: 'SQ',
      Value: values.filter(isObject).map((item) => {
        const dict: DcmjsDict = {};
        for (const [tag, inner] of Object.entries(item as DicomJsonDataset))
          dict[tag.toUpperCase()] = toDcmjsAttribute(inner);
        return dict;
      }),
    };
  }
  if (values.length === 0) return { vr: attribute.vr, Value: [''] };
  if (attribute.vr === 'PN')
    return { vr: 'PN', Value: values.map((value) => (value === null ? { Alphabetic: '' } : value)) };
  return { vr: attribute.vr, Value: values.map((value) => (value === null ? '' : value)) };
}

export const STUDY_LEVEL_TAGS = [
  '00080005', // SpecificCharacterSet
  '00080020', // StudyDate
  '00080030', // StudyTime
  '00080050', // AccessionNumber
  '00080090', // ReferringPhysicianName
  '00081030', // StudyDescription
  '00100010', // PatientName
  '00100020', // PatientID
  '00100021', // IssuerOfPatientID
  '00100030', // PatientBirthDate
  '00100040', // PatientSex
  '0020000D', // StudyInstanceUID
  '00200010', // StudyID
] as const;

export const SERIES_LEVEL_TAGS = [
  '00080005', // SpecificCharacterSet
  '00080021', // SeriesDate
  '00080031', // SeriesTime
  '00080060', // Modality
  '0008103E', // SeriesDescription
  '00180015', // BodyPartExamined
  '0020000D', // StudyInstanceUID
  '0020000E', // SeriesInstanceUID
  '00200011', // SeriesNumber
  '00400244', // PerformedProcedureStepStartDate
] as const;

export const INSTANCE_LEVEL_TAGS = [
  '00080005', // SpecificCharacterSet
  '00080016', // SOPClassUID
  '00080018', // SOPInstanceUID
  '00080060', // Modality
  '0020000D', // StudyInstanceUID
  '0020000E', // SeriesInstanceUID
  '00200013', // InstanceNumber
  '00280010', // Rows
  '00280011', // Columns
  '00280100', // BitsAllocated
  '00280008', // NumberOfFrames
] as const;

/** The listed attributes of a dataset, in tag order, skipping those it does not have. */
export function pick(dataset: DicomJsonDataset, tags: readonly string[]): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const tag of tags) {
    const attribute = dataset[tag];
    if (attribute) out[tag] = attribute;
  }
  return out;
}

/** The same dataset with its tags in ascending order (as the service returns them). */
export function sortTags(dataset: DicomJsonDataset): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const tag of Object.keys(dataset).sort()) out[tag] = dataset[tag]!;
  return out;
}
