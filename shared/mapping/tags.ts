import { Tag, getString, getValues, type DicomJsonDataset, type DicomJsonValue } from '../dicomweb/dicomJson.js';
import { uidProblem } from '../dicomweb/identifiers.js';
import { toFhirDate, toFhirOffset, toFhirTime, toUnsignedInt } from './dates.js';
import { SrTag } from './structuredReport.js';
import type { TagIssue } from './types.js';

const keywordByTag = new Map<string, string>(
  [...Object.entries(Tag), ...Object.entries(SrTag)].map(([keyword, tag]) => [tag, keyword]),
);

/** `00100040` → `(0010,0040)` */
export function tagLabel(tag: string): string {
  const upper = tag.toUpperCase();
  return `(${upper.slice(0, 4)},${upper.slice(4, 8)})`;
}

/** `00100040` → `PatientSex` (the label when the tag is not one we know). */
export function tagKeyword(tag: string): string {
  return keywordByTag.get(tag.toUpperCase()) ?? tagLabel(tag);
}

/** Where the values a TagReader reads come from; series or instance undefined when the dataset lacks the UID. */
export interface IssueLocation {
  study: string;
  series?: string | undefined;
  instance?: string | undefined;
}

function describe(value: DicomJsonValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * Reads typed values from one dataset and records what it could not use. A value that is absent or
 * empty is simply undefined; a value that is present but invalid is undefined plus a warning.
 */
export class TagReader {
  readonly issues: TagIssue[] = [];

  constructor(
    readonly dataset: DicomJsonDataset,
    readonly location: IssueLocation,
  ) {}

  issue(severity: TagIssue['severity'], tag: string, reason: string, value?: DicomJsonValue): void {
    const issue: TagIssue = {
      severity,
      study: this.location.study,
      tag: tagLabel(tag),
      keyword: tagKeyword(tag),
      reason,
    };
    if (this.location.series !== undefined) issue.series = this.location.series;
    if (this.location.instance !== undefined) issue.instance = this.location.instance;
    const text = describe(value);
    if (text !== undefined) issue.value = text;
    this.issues.push(issue);
  }

  string(tag: string): string | undefined {
    return getString(this.dataset, tag);
  }

  /** A required value: missing gives an error issue. */
  required(tag: string): string | undefined {
    const value = this.string(tag);
    if (value === undefined) this.issue('error', tag, 'required tag is missing or empty');
    return value;
  }

  /** A UID usable as a FHIR `id` (ImagingStudy series.uid, instance.uid) or inside `urn:oid:`. */
  requiredUid(tag: string): string | undefined {
    // UI values are padded with NUL to an even length; some servers leave the padding in.
    const value = this.required(tag)?.replace(/\0+$/, '');
    if (value === undefined) return undefined;
    const problem = uidProblem(value);
    if (problem !== undefined) {
      this.issue('error', tag, `not a valid UID: ${problem}`, value.slice(0, 128));
      return undefined;
    }
    return value;
  }

  unsignedInt(tag: string): number | undefined {
    return this.parsed(tag, toUnsignedInt, 'not an unsigned integer');
  }

  date(tag: string): string | undefined {
    return this.parsed(tag, toFhirDate, 'not a valid date (YYYYMMDD)');
  }

  time(tag: string): string | undefined {
    return this.parsed(tag, toFhirTime, 'not a valid time (HHMMSS.FFFFFF)');
  }

  offset(tag: string): string | undefined {
    return this.parsed(tag, toFhirOffset, 'not a valid offset (+HHMM or -HHMM)');
  }

  private parsed<T>(tag: string, parse: (raw: string | number) => T | undefined, reason: string): T | undefined {
    const raw = getValues(this.dataset, tag)[0];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return undefined;
    const parsed = typeof raw === 'string' || typeof raw === 'number' ? parse(raw) : undefined;
    if (parsed === undefined) this.issue('warning', tag, reason, raw);
    return parsed;
  }
}
