// dcmjs ships no type declarations; this is the typed slice of it we use (loaded through require so no
// ambient `declare module` is needed).
import { createRequire } from 'node:module';

/** An attribute as dcmjs holds it: DICOM JSON-like, plus the raw value it read (which we never emit). */
export interface DcmjsAttribute {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
  InlineBinary?: string;
  BulkDataURI?: string;
}

export type DcmjsDict = Record<string, DcmjsAttribute>;

export interface DcmjsDicomDict {
  meta: DcmjsDict;
  dict: DcmjsDict;
  write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
}

interface DcmjsModule {
  data: {
    DicomDict: new (meta: DcmjsDict) => DcmjsDicomDict;
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean }): DcmjsDicomDict };
  };
  log: { setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void };
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as DcmjsModule;
dcmjs.log.setLevel('error');

/** Parses a Part-10 file (throws when it is not one). */
export function readPart10(file: Uint8Array): DcmjsDicomDict {
  // dcmjs wants an ArrayBuffer of exactly the file's bytes, not a view on a pooled Buffer.
  const copy = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  return dcmjs.data.DicomMessage.readFile(copy);
}

/** Writes a Part-10 file from File Meta attributes and a dataset. */
export function writePart10(meta: DcmjsDict, dataset: DcmjsDict): Buffer {
  const dicomDict = new dcmjs.data.DicomDict(meta);
  dicomDict.dict = dataset;
  return Buffer.from(dicomDict.write());
}

/** Writes back a parsed file (after its `dict` was changed). */
export function rewritePart10(parsed: DcmjsDicomDict): Buffer {
  return Buffer.from(parsed.write());
}
