import type { DicomJsonAttribute, DicomJsonDataset, DicomJsonValue } from '../../shared/dicomweb/dicomJson.js';
import { Tag } from '../../shared/dicomweb/dicomJson.js';
import type { MappingOptions, StudyInstance } from '../../shared/mapping/types.js';

export const options: MappingOptions = {
  endpoint: 'https://dicom.example.com',
  patientSystemId: '',
  isIssuerIdUsed: false,
  defaultTimezoneOffset: '+00:00',
  enforceValidation: false,
};

export const studyUid = '1.2.3';
export const ctImage = '1.2.840.10008.5.1.4.1.1.2';

export function attr(vr: string, ...values: DicomJsonValue[]): DicomJsonAttribute {
  return values.length ? { vr, Value: values } : { vr };
}

export function pn(alphabetic: string, ideographic?: string): DicomJsonAttribute {
  return attr(
    'PN',
    ideographic === undefined ? { Alphabetic: alphabetic } : { Alphabetic: alphabetic, Ideographic: ideographic },
  );
}

export function codeItem(value: string, designator: string, meaning: string, schemeUid?: string): DicomJsonDataset {
  const item: DicomJsonDataset = {
    [Tag.CodeValue]: attr('SH', value),
    [Tag.CodingSchemeDesignator]: attr('SH', designator),
    [Tag.CodeMeaning]: attr('LO', meaning),
  };
  if (schemeUid) item[Tag.CodingSchemeUID] = attr('UI', schemeUid);
  return item;
}

/** A valid instance of `studyUid`; `extra` adds or overrides attributes (a value of null deletes one). */
export function instance(
  series: string,
  sop: string,
  extra: Record<string, DicomJsonAttribute | null> = {},
): DicomJsonDataset {
  const dataset: DicomJsonDataset = {
    [Tag.SOPClassUID]: attr('UI', ctImage),
    [Tag.SOPInstanceUID]: attr('UI', sop),
    [Tag.Modality]: attr('CS', 'CT'),
    [Tag.StudyInstanceUID]: attr('UI', studyUid),
    [Tag.SeriesInstanceUID]: attr('UI', series),
    [Tag.PatientID]: attr('LO', 'PID-1'),
  };
  for (const [tag, value] of Object.entries(extra)) {
    if (value === null) delete dataset[tag];
    else dataset[tag] = value;
  }
  return dataset;
}

export function current(dataset: DicomJsonDataset, sequence?: number): StudyInstance {
  return sequence === undefined ? { dataset } : { dataset, sequence };
}

/** A deterministic shuffle (mulberry32), so a failing order can be replayed. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Paths of every empty string, array or object in a value (FHIR forbids them). */
export function emptyPaths(value: unknown, path = '$'): string[] {
  if (typeof value === 'string') return value.trim() === '' ? [path] : [];
  if (Array.isArray(value)) {
    return value.length === 0 ? [path] : value.flatMap((item, index) => emptyPaths(item, `${path}[${index}]`));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [path];
    return entries.flatMap(([key, child]) =>
      child === undefined ? [`${path}.${key}`] : emptyPaths(child, `${path}.${key}`),
    );
  }
  return [];
}
