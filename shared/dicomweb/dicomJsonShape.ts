/**
 * The shape check of DICOM JSON (PS3.18 Annex F) where it enters: WADO-RS metadata and `dicom-cast map` input.
 * The mapping reads values through dicomJson.ts and trusts their shape; this is where that trust is earned.
 * An instance that fails is rejected with the tag (a path for nested items) and the reason; the others carry on.
 */
import { Tag, getString, type DicomJsonDataset } from './dicomJson.js';
import { excerpt, uidProblem } from './identifiers.js';
import { isPlainObject } from '../lib/isPlainObject.js';

/** Deeper SQ nesting is refused (dose SR content trees use about six levels). */
export const maxSequenceDepth = 32;
/** A check stops after this many problems: one is enough to reject an instance. */
const maxProblems = 5;

export interface ShapeProblem {
  /** `(gggg,eeee)` of the top-level attribute; a problem inside sequence items gives its path in `reason`. */
  tag: string;
  reason: string;
}

/** A path inside nested items, shortened in the middle when long (10,000 levels of one sequence). */
function shortPath(path: string): string {
  return path.length > 120 ? `${path.slice(0, 60)} … ${path.slice(-50)}` : path;
}

const stringVrs = new Set(['AE', 'AS', 'CS', 'DA', 'DT', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const numberVrs = new Set(['FL', 'FD', 'SL', 'SS', 'UL', 'US']);
const bigIntegerVrs = new Set(['SV', 'UV']);
const numericStringVrs = new Set(['IS', 'DS']);
const binaryVrs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const personNameGroups = new Set(['Alphabetic', 'Ideographic', 'Phonetic']);

/**
 * The values the identities are built from: one value, no `\` (a second value in disguise), no U+FFFD (bytes the
 * server could not decode), no control characters, within the VR's length. A wrong one would join the wrong Patient
 * or name the wrong study, so it rejects the instance instead of being cut or guessed.
 */
const identityTags: readonly { tag: string; vr: string; uid: boolean }[] = [
  { tag: Tag.PatientID, vr: 'LO', uid: false },
  { tag: Tag.IssuerOfPatientID, vr: 'LO', uid: false },
  { tag: Tag.StudyInstanceUID, vr: 'UI', uid: true },
  { tag: Tag.SeriesInstanceUID, vr: 'UI', uid: true },
  { tag: Tag.SOPInstanceUID, vr: 'UI', uid: true },
  { tag: Tag.SOPClassUID, vr: 'UI', uid: true },
];
const maxIdentifierLength = 64;

const tagKey = /^[0-9A-Fa-f]{8}$/;
const upperCaseTagKey = /^[0-9A-F]{8}$/;
const vrPattern = /^[A-Z]{2}$/;

function label(key: string): string {
  const upper = key.toUpperCase();
  return tagKey.test(upper) ? `(${upper.slice(0, 4)},${upper.slice(4)})` : excerpt(key, 20);
}

/** Where an attribute is: `path` (the items above it) and its key; built only when there is a problem to name. */
function at(path: string, key: string): string {
  return `${path}${label(key)}`;
}

/** Where one value of an attribute is. */
function itemAt(path: string, key: string, index: number): string {
  return `${at(path, key)}[${index}]`;
}

/**
 * Every study read goes through here, every attribute of every instance: the places (`path`, `key`, `index`) are
 * strings only when a problem is added, so a well-formed instance costs no string building.
 */
class ShapeChecker {
  readonly problems: ShapeProblem[] = [];

  get full(): boolean {
    return this.problems.length >= maxProblems;
  }

  /** The top-level attribute of the problem (its key; none: the dataset). A deeper place is named in the reason. */
  private topKey: string | undefined;

  /** Whether every top-level key is an upper-case tag: identity() then finds a tag under its own name. */
  private upperCaseKeys = true;

  add(where: string, reason: string): void {
    if (this.full) return;
    const top = this.topKey === undefined ? '(dataset)' : label(this.topKey);
    this.problems.push({ tag: top, reason: where === top ? reason : `at ${shortPath(where)}: ${reason}` });
  }

  /** A problem of one value of an attribute (its place built only now). */
  private addItem(path: string, key: string, index: number, reason: string): void {
    this.add(itemAt(path, key, index), reason);
  }

  dataset(value: unknown, path: string, depth: number): void {
    if (!isPlainObject(value)) {
      this.add(path || '(dataset)', 'is not a DICOM JSON object keyed by tags');
      return;
    }
    for (const key of Object.keys(value)) {
      if (this.full) return;
      if (depth === 0) this.topKey = key;
      if (!upperCaseTagKey.test(key)) {
        if (depth === 0) this.upperCaseKeys = false;
        if (!tagKey.test(key)) {
          this.add(at(path, key), 'key is not a tag (8 hex digits)');
          continue;
        }
      }
      this.attribute(value[key], path, key, depth);
    }
  }

  private attribute(attribute: unknown, path: string, key: string, depth: number): void {
    if (!isPlainObject(attribute)) return this.add(at(path, key), 'attribute is not an object');
    const vr = attribute.vr;
    if (typeof vr !== 'string' || !vrPattern.test(vr)) {
      return this.add(at(path, key), `"vr" ${excerpt(vr)} is not a VR`);
    }
    if (attribute.BulkDataURI !== undefined && typeof attribute.BulkDataURI !== 'string') {
      this.add(at(path, key), '"BulkDataURI" is not a string');
    }
    if (attribute.InlineBinary !== undefined && typeof attribute.InlineBinary !== 'string') {
      this.add(at(path, key), '"InlineBinary" is not a string');
    }
    const values = attribute.Value;
    if (values === undefined) return;
    if (!Array.isArray(values)) {
      return this.add(
        at(path, key),
        `"Value" is not an array (got ${excerpt(values, 40)}); DICOM JSON lists every value`,
      );
    }
    if (binaryVrs.has(vr)) return;
    for (let index = 0; index < values.length; index++) {
      const value: unknown = values[index];
      if (value === undefined && !(index in values)) continue; // a hole, as forEach skips it
      if (!this.full && value !== null) this.value(vr, value, path, key, index, depth);
    }
  }

  private value(vr: string, value: unknown, path: string, key: string, index: number, depth: number): void {
    if (vr === 'SQ') {
      if (depth + 1 > maxSequenceDepth)
        return this.addItem(path, key, index, `sequences nest deeper than ${maxSequenceDepth} levels`);
      if (!isPlainObject(value)) return this.addItem(path, key, index, 'a sequence item is not a DICOM JSON object');
      return this.dataset(value, `${itemAt(path, key, index)}.`, depth + 1);
    }
    if (vr === 'PN') {
      if (!isPlainObject(value))
        return this.addItem(path, key, index, `a person name is not an object (got ${excerpt(value, 40)})`);
      for (const group of Object.keys(value)) {
        const text = value[group];
        if (!personNameGroups.has(group))
          this.addItem(path, key, index, `person name group ${excerpt(group, 20)} is unknown`);
        else if (typeof text !== 'string') this.addItem(path, key, index, `person name group ${group} is not a string`);
      }
      return;
    }
    if (stringVrs.has(vr)) {
      if (typeof value !== 'string')
        this.addItem(path, key, index, `${vr} value is not a string (got ${excerpt(value, 40)})`);
      return;
    }
    if (numberVrs.has(vr)) {
      if (typeof value !== 'number' || !Number.isFinite(value))
        this.addItem(path, key, index, `${vr} value is not a number`);
      return;
    }
    if (numericStringVrs.has(vr)) {
      if (!(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
        this.addItem(path, key, index, `${vr} value is neither a number nor a string`);
      }
      return;
    }
    if (bigIntegerVrs.has(vr)) {
      if (!(Number.isSafeInteger(value) || (typeof value === 'string' && /^-?\d{1,20}$/.test(value)))) {
        this.addItem(path, key, index, `${vr} value is not an integer`);
      }
      return;
    }
    if (vr === 'AT') {
      if (typeof value !== 'string' || !tagKey.test(value)) this.addItem(path, key, index, 'AT value is not a tag');
      return;
    }
    this.addItem(path, key, index, `VR ${vr} is unknown`);
  }

  identity(dataset: Record<string, unknown>): void {
    for (const { tag, vr, uid } of identityTags) {
      const key = this.upperCaseKeys
        ? Object.hasOwn(dataset, tag)
          ? tag
          : undefined
        : Object.keys(dataset).find((candidate) => candidate.toUpperCase() === tag);
      if (key === undefined) continue;
      const attribute = dataset[key] as { vr: string; Value?: unknown[] };
      const where = label(tag);
      this.topKey = tag;
      if (attribute.vr !== vr) {
        this.add(where, `VR is ${excerpt(attribute.vr, 4)}, not ${vr}`);
        continue;
      }
      const values = (attribute.Value ?? []).filter((value) => value !== null && value !== '');
      if (values.length === 0) continue;
      if (values.length > 1) {
        this.add(where, `has ${values.length} values; an identifier has one`);
        continue;
      }
      const text = values[0] as string;
      const problem = uid ? uidProblem(text.replace(/[\0 ]+$/, '')) : identifierProblem(text);
      if (problem) this.add(where, problem);
    }
  }
}

function identifierProblem(text: string): string | undefined {
  if (text.includes('\\')) return `${excerpt(text)} holds "\\", the value separator: it is more than one value`;
  if (text.includes('\uFFFD')) return `${excerpt(text)} holds U+FFFD: the server sent bytes that are not valid UTF-8`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return `${excerpt(text)} holds a control character`;
  if (text.trim().length > maxIdentifierLength) return `is ${text.length} characters long (LO has at most 64)`;
  return undefined;
}

/** What is wrong with the shape of one instance's DICOM JSON; empty when nothing is. */
export function dicomJsonProblems(dataset: unknown): ShapeProblem[] {
  const checker = new ShapeChecker();
  checker.dataset(dataset, '', 0);
  if (checker.problems.length === 0 && isPlainObject(dataset)) checker.identity(dataset);
  return checker.problems;
}

/** An instance left out because its DICOM JSON is malformed: where and why, for its failure record. */
export interface MalformedInstance {
  series?: string;
  instance?: string;
  tag: string;
  reason: string;
}

/** One instance of a study's metadata, screened as it arrives: the dataset the mapping may read, or why it is left out. */
export function screenDicomJsonItem(
  dataset: unknown,
): { dataset: DicomJsonDataset; malformed?: undefined } | { malformed: MalformedInstance } {
  let problems: ShapeProblem[];
  try {
    problems = dicomJsonProblems(dataset);
  } catch (error) {
    // Not from JSON.parse (which cannot throw on reading back), but a reader may hand over anything.
    problems = [
      { tag: '(dataset)', reason: `could not be read (${error instanceof Error ? error.message : 'error'})` },
    ];
  }
  if (problems.length === 0) return { dataset: dataset as DicomJsonDataset };
  const [first] = problems as [ShapeProblem, ...ShapeProblem[]];
  const located = isPlainObject(dataset) ? (dataset as DicomJsonDataset) : {};
  const series = locationUid(located, Tag.SeriesInstanceUID);
  const instance = locationUid(located, Tag.SOPInstanceUID);
  const more =
    problems.length > 1
      ? `; ${problems
          .slice(1)
          .map((p) => `${p.tag} ${p.reason}`)
          .join('; ')}`
      : '';
  return {
    malformed: {
      ...(series ? { series } : {}),
      ...(instance ? { instance } : {}),
      tag: first.tag,
      reason: `Malformed DICOM JSON: ${first.tag} ${first.reason}${more}; the instance is left out`,
    },
  };
}

/** A UID to name a rejected instance by; a value that is not a UID is not repeated as a location. */
function locationUid(dataset: DicomJsonDataset, tag: string): string | undefined {
  try {
    const value = getString(dataset, tag);
    return value !== undefined && uidProblem(value) === undefined ? value : undefined;
  } catch {
    return undefined;
  }
}
