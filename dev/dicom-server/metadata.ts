// DICOM JSON → what dcmjs writes, and the attributes QIDO-RS returns per level. Reading Part-10 into DICOM JSON
// is the product's own code (shared/dicomweb/part10.ts), so the stand-in serves exactly what the map command reads.
import type { DicomJsonAttribute, DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import type { DcmjsAttribute, DcmjsDict } from './dcmjs.js';
import { isPlainObject } from '../../shared/lib/isPlainObject.js';

function isObject(value: unknown): value is object {
  return isPlainObject(value) && !(value instanceof ArrayBuffer);
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
