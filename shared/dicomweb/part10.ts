// Reads a DICOM Part-10 file into the DICOM JSON that WADO-RS metadata would give for it (PS3.18 Annex F):
// no File Meta group, no pixel data, small binary values inline. Pure: bytes in, dataset out. Uses dcmjs,
// which ships no type declarations: this is the typed slice of it we need, loaded through require.
import { createRequire } from 'node:module';
import type { DicomJsonAttribute, DicomJsonDataset, DicomJsonValue, DicomPersonName } from './dicomJson.js';
import { part10StructureProblem } from './part10Structure.js';
import { errorMessage } from '../lib/errorDetails.js';
import { isPlainObject } from '../lib/isPlainObject.js';

interface DcmjsAttribute {
  vr: string;
  Value?: unknown[];
}
type DcmjsDict = Record<string, DcmjsAttribute>;

interface Dcmjs {
  data: { DicomMessage: { readFile(buffer: ArrayBuffer): { meta: DcmjsDict; dict: DcmjsDict } } };
  log: Logger & { getLogger(name: string): Logger };
}
interface Logger {
  setLevel(level: 'error' | 'silent'): void;
}

let dcmjs: Dcmjs | undefined;
function loadDcmjs(): Dcmjs {
  if (!dcmjs) {
    dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;
    // dcmjs logs what it tolerates (unknown VRs, short values) on the console; the caller reports what matters.
    dcmjs.log.setLevel('silent');
    dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');
  }
  return dcmjs;
}

/** A file that is not a Part-10 DICOM file we can read; the message says why. */
export class Part10Error extends Error {
  override readonly name = 'Part10Error';
}

const preambleLength = 128;

/** Whether the bytes start like a Part-10 file (128-byte preamble, then `DICM`). */
export function looksLikePart10(bytes: Uint8Array): boolean {
  return (
    bytes.length >= preambleLength + 4 &&
    String.fromCharCode(...bytes.subarray(preambleLength, preambleLength + 4)) === 'DICM'
  );
}

/** Parses a Part-10 file into DICOM JSON; throws a Part10Error that says what is wrong with it. */
export function readPart10(bytes: Uint8Array): DicomJsonDataset {
  if (!looksLikePart10(bytes)) {
    throw new Part10Error(
      bytes.length < preambleLength + 4
        ? `not a DICOM Part-10 file (${bytes.length} bytes, too short for the preamble and "DICM" prefix)`
        : 'not a DICOM Part-10 file (no "DICM" prefix after the 128-byte preamble)',
    );
  }
  const refused = part10StructureProblem(bytes);
  if (refused !== undefined) throw new Part10Error(`refused before reading: ${refused}`);
  // dcmjs wants an ArrayBuffer of exactly the file's bytes, not a view on a pooled Buffer.
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let parsed: { meta: DcmjsDict; dict: DcmjsDict };
  try {
    parsed = loadDcmjs().data.DicomMessage.readFile(copy);
  } catch (error) {
    throw new Part10Error(`unreadable DICOM Part-10 file: ${describe(error)}`);
  }
  return toDicomJson(parsed.dict);
}

function describe(error: unknown): string {
  const message = errorMessage(error);
  // dcmjs reports a missing Transfer Syntax UID and a file cut short as JavaScript errors.
  if (/reading '0'|reading 'Value'|TransferSyntax/i.test(message)) {
    return `the File Meta Information has no usable Transfer Syntax UID (0002,0010) (${message})`;
  }
  if (error instanceof RangeError || /offset|out of (range|bounds)|beyond/i.test(message)) {
    return `the file ends in the middle of an attribute (truncated?) (${message})`;
  }
  return message;
}

const binaryVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const numericStringVrs = new Set(['IS', 'DS']);
const pixelDataTags = new Set(['7FE00010', '7FE00008', '7FE00009']);
const maxInlineBinaryBytes = 1024;

/** What dcmjs read → DICOM JSON, keys upper case and sorted. */
export function toDicomJson(dict: DcmjsDict): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const key of Object.keys(dict).sort()) {
    const tag = key.toUpperCase();
    const attribute = dict[key];
    if (!attribute || pixelDataTags.has(tag) || tag.startsWith('0002') || !/^[0-9A-F]{8}$/.test(tag)) continue;
    const converted = convertAttribute(attribute);
    if (converted) out[tag] = converted;
  }
  return out;
}

function convertAttribute(attribute: DcmjsAttribute): DicomJsonAttribute | undefined {
  const vr = attribute.vr;
  const values = attribute.Value ?? [];
  if (binaryVrs.has(vr)) {
    const bytes = values[0];
    if (!(bytes instanceof ArrayBuffer) || bytes.byteLength === 0) return { vr };
    if (bytes.byteLength > maxInlineBinaryBytes) return undefined;
    return { vr, InlineBinary: Buffer.from(bytes).toString('base64') };
  }
  let converted: DicomJsonValue[];
  if (vr === 'SQ') converted = values.filter(isObject).map((item) => toDicomJson(item as DcmjsDict));
  else if (vr === 'PN') converted = values.map(toPersonName);
  else converted = values.map((value) => toScalar(value, numericStringVrs.has(vr)));
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
  // UI values are padded to an even length with NUL; other strings with spaces.
  const trimmed = value.replace(/\0+$/, '').trim();
  if (trimmed === '') return null;
  if (numericString) {
    const number = Number(trimmed);
    if (Number.isFinite(number)) return number;
  }
  return trimmed;
}

function isObject(value: unknown): value is object {
  return isPlainObject(value) && !(value instanceof ArrayBuffer);
}
