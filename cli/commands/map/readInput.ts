/**
 * What `dicom-cast map` reads: a DICOM JSON file, a Part-10 file, or a folder of them; each unreadable file is an
 * `InputError` that names it, and a folder with one is refused as a whole.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { looksLikePart10, readPart10 } from '../../../shared/dicomweb/part10.js';
import { errorMessage } from '../../../shared/lib/errorDetails.js';
import { isPlainObject } from '../../../shared/lib/isPlainObject.js';

/** A problem with one input file; the message names the file. */
export class InputError extends Error {}

export interface LoadedDataset {
  dataset: DicomJsonDataset;
  /** The file (and the item, for an array) it came from. */
  source: string;
}

export async function loadInput(input: string, skipped: (text: string) => void): Promise<LoadedDataset[]> {
  let info;
  try {
    info = await stat(input);
  } catch (error) {
    throw new InputError(`${input}: ${systemMessage(error)}`);
  }
  if (!info.isDirectory()) return await loadFile(input, input, true);
  const files = await listFiles(input);
  const out: LoadedDataset[] = [];
  const unreadable: string[] = [];
  for (const file of files) {
    try {
      const loaded = await loadFile(file, file, false);
      if (loaded.length === 0) skipped(`skipped: ${file}: neither a DICOM JSON (.json) nor a Part-10 file`);
      out.push(...loaded);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      unreadable.push(error.message);
    }
  }
  // All or nothing: a Bundle that silently misses an unreadable file would mislead.
  if (unreadable.length === 1) throw new InputError(unreadable[0] ?? '');
  if (unreadable.length > 1)
    throw new InputError(`${unreadable.length} files cannot be read:\n  ${unreadable.join('\n  ')}`);
  if (out.length === 0) throw new InputError(`${input}: no DICOM JSON or Part-10 file in this folder`);
  return out;
}

async function listFiles(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`${folder}: ${systemMessage(error)}`);
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/**
 * One file: `.json` is DICOM JSON, anything else Part-10. In a folder (`explicit` false) a file that is
 * neither gives nothing; named on the command line it is an error.
 */
async function loadFile(path: string, shown: string, explicit: boolean): Promise<LoadedDataset[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`${shown}: ${systemMessage(error)}`);
  }
  if (extname(path).toLowerCase() === '.json') return parseDicomJson(bytes, shown);
  if (!explicit && !looksLikePart10(bytes)) return [];
  try {
    return [{ dataset: readPart10(bytes), source: shown }];
  } catch (error) {
    throw new InputError(`${shown}: ${errorMessage(error)}`);
  }
}

/** A DICOM JSON instance, or an array of them; checks the shape, not the values. */
export function parseDicomJson(bytes: Buffer, shown: string): LoadedDataset[] {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new InputError(`${shown}: not JSON: ${errorMessage(error)}`);
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) throw new InputError(`${shown}: an empty array: no DICOM JSON instance`);
  return items.map((item, index) => {
    const where = Array.isArray(json) ? `${shown}[${index}]` : shown;
    const problem = dicomJsonProblem(item);
    if (problem) throw new InputError(`${where}: not DICOM JSON (PS3.18 Annex F): ${problem}`);
    return { dataset: item as DicomJsonDataset, source: where };
  });
}

function dicomJsonProblem(item: unknown): string | undefined {
  if (!isPlainObject(item)) return 'expected an object keyed by tags';
  const keys = Object.keys(item);
  if (keys.length === 0) return 'an empty object';
  for (const key of keys) {
    if (!/^[0-9A-Fa-f]{8}$/.test(key)) return `key "${key}" is not a tag (8 hex digits)`;
    const attribute = item[key];
    if (attribute === null || typeof attribute !== 'object' || typeof (attribute as { vr?: unknown }).vr !== 'string') {
      return `attribute ${key} has no "vr"`;
    }
  }
  return undefined;
}

function systemMessage(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder';
  return errorMessage(error);
}
