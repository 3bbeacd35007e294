import { getString, Tag, type DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { readPart10, rewritePart10 } from './dcmjs.js';
import { toDicomJson } from '../../shared/dicomweb/part10.js';
import { toDcmjsAttribute } from './metadata.js';

export interface ParsedInstance {
  study: string | undefined;
  series: string | undefined;
  sop: string | undefined;
  sopClass: string | undefined;
  /** DICOM JSON metadata: no File Meta, no pixel data. */
  dataset: DicomJsonDataset;
}

/** Reads a Part-10 file's identity and metadata; throws when the bytes are not a DICOM file. */
export function parseInstance(file: Buffer): ParsedInstance {
  const dataset = toDicomJson(readPart10(file).dict);
  return {
    study: getString(dataset, Tag.StudyInstanceUID),
    series: getString(dataset, Tag.SeriesInstanceUID),
    sop: getString(dataset, Tag.SOPInstanceUID),
    sopClass: getString(dataset, Tag.SOPClassUID),
    dataset,
  };
}

/** Applies a DICOM JSON change (attributes to set) to a Part-10 file and returns the new file and metadata. */
export function applyChange(file: Buffer, change: DicomJsonDataset): { file: Buffer; dataset: DicomJsonDataset } {
  const parsed = readPart10(file);
  for (const [tag, attribute] of Object.entries(change)) {
    parsed.dict[tag.toUpperCase()] = toDcmjsAttribute(attribute);
  }
  return { file: rewritePart10(parsed), dataset: toDicomJson(parsed.dict) };
}

const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;

/** A UID as DICOM allows it: digits and dots, at most 64 characters (also keeps it safe as a file name). */
export function isValidUid(value: string): boolean {
  return value.length <= 64 && UID_PATTERN.test(value);
}
