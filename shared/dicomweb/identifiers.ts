/**
 * The grammars of what the DICOM server names things by, checked where its data enters: UIDs, data partition
 * names and change-feed timestamps. Each check returns undefined when the value is fine, else why not (with the
 * value shortened, so a 70,000-character value never travels on in a message).
 */

/** UI values are at most 64 characters (PS3.5 6.2). */
export const maxUidLength = 64;

/**
 * PS3.5 9.1: components of digits separated by `.`, no empty component. PS3.5 also forbids a leading zero in a
 * component, but archives hold such UIDs (the Azure DICOM service accepts anything matching `^[0-9.]*[0-9]$`, and
 * DICOM Cast synchronised them): refusing them would keep real studies out of FHIR for good, and a leading zero is no
 * hazard in a path or an identifier, so they are accepted as they are.
 */
const uidGrammar = /^[0-9]+(?:\.[0-9]+)*$/;

/** Azure DICOM service PartitionNameValidator: 1-64 characters of `A-Z a-z 0-9 _ . -`. */
const partitionGrammar = /^[A-Za-z0-9_.-]{1,64}$/;

/** A change-feed Timestamp: ISO-8601 date and time with seconds (fraction optional) and a time zone. */
const timestampGrammar =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/**
 * How far a change-feed timestamp may lie ahead of this machine's clock (a constant: the DICOM service's clock and
 * ours are both NTP-synchronised on Azure; ten minutes covers any real drift). Beyond it a row is recorded, not
 * trusted: a v2 checkpoint set to 9999-12-31 would skip every real row after it.
 */
export const maxTimestampSkewMs = 10 * 60 * 1000;

/** A value for a message: strings JSON-quoted, other values as JSON, at most `max` characters, the length when cut. */
export function excerpt(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const shown = text.length > max ? text.slice(0, max) : text;
  const quoted = typeof value === 'string' ? JSON.stringify(shown) : shown;
  return text.length > max ? `${quoted}… (${text.length} characters)` : quoted;
}

export function uidProblem(value: string): string | undefined {
  if (value.length > maxUidLength) return `is ${value.length} characters long (a UID has at most ${maxUidLength})`;
  if (!uidGrammar.test(value)) {
    if (/[^0-9.]/.test(value)) return `${excerpt(value)} is not a UID (only digits and dots)`;
    return `${excerpt(value)} is not a UID (empty component)`;
  }
  return undefined;
}

export function isDicomUid(value: unknown): value is string {
  return typeof value === 'string' && uidProblem(value) === undefined;
}

export function partitionNameProblem(value: string): string | undefined {
  if (!partitionGrammar.test(value)) {
    return `${excerpt(value)} is not a partition name (1-64 characters of A-Z, a-z, 0-9, "_", ".", "-")`;
  }
  // The service's own rule lets these through, but in a URL path they mean "this folder" and "the parent".
  if (/^\.+$/.test(value)) return `${excerpt(value)} is not a usable partition name (dots only)`;
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Why a change-feed timestamp cannot be used, or undefined. `now` is this machine's clock in milliseconds.
 * Date.parse alone is not enough: it reads `"1"` as the year 2001.
 */
export function timestampProblem(value: string, now: number): string | undefined {
  const match = timestampGrammar.exec(value);
  if (!match) return `${excerpt(value)} is not an ISO-8601 date-time with a time zone`;
  const [year, month, day, hour] = match.slice(1, 5).map(Number) as [number, number, number, number];
  const minute = Number(match[5]);
  const second = Number(match[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59) {
    return `${excerpt(value)} is not a valid date-time`;
  }
  if (second > 59) return `${excerpt(value)} is not a valid date-time`;
  const time = Date.parse(value);
  if (!Number.isFinite(time)) return `${excerpt(value)} is not a valid date-time`;
  if (time > now + maxTimestampSkewMs) {
    return `${excerpt(value)} lies in the future (more than ${maxTimestampSkewMs / 60_000} minutes ahead of this clock)`;
  }
  return undefined;
}
