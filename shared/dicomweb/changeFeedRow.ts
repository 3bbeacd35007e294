import type { ChangeFeedAction, ChangeFeedEntry, ChangeFeedState } from './changeFeedEntry.js';
import type { DicomJsonDataset } from './dicomJson.js';
import { excerpt, partitionNameProblem, timestampProblem, uidProblem } from './identifiers.js';
import { isPlainObject } from '../lib/isPlainObject.js';

/**
 * A change-feed row that could not be turned into a ChangeFeedEntry. It keeps what could be read
 * (sequence, timestamp and UIDs, for the failure record and for paging) and the raw row (for replay).
 */
export interface BadChangeFeedRow {
  kind: 'bad';
  sequence?: number;
  /** A sequence the row gave that must not move the position (outside the window asked for, above latest). */
  reportedSequence?: number;
  timestamp?: string;
  study?: string;
  series?: string;
  instance?: string;
  raw: unknown;
  /** What is wrong, naming the field(s). */
  reason: string;
}

/** One row of a change-feed page: a valid entry, or a bad row that must be recorded and skipped. */
export type ChangeFeedRow = ChangeFeedEntry | BadChangeFeedRow;

export function isBadRow(row: ChangeFeedRow): row is BadChangeFeedRow {
  return 'kind' in row && row.kind === 'bad';
}

const actions: readonly ChangeFeedAction[] = ['create', 'update', 'delete'];
const states: readonly ChangeFeedState[] = ['current', 'replaced', 'deleted'];

/** Property lookup whatever the case: the docs print PascalCase, the OpenAPI document says camelCase. */
function lowerKeyed(row: Record<string, unknown>): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const [key, value] of Object.entries(row)) {
    const lower = key.toLowerCase();
    if (!map.has(lower) || map.get(lower) == null) map.set(lower, value);
  }
  return map;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Longest text of a bad row kept to name it in its failure record (the raw row is kept whole in the payload). */
const maxLocationChars = 128;

function clip(value: string): string {
  return value.length > maxLocationChars ? `${value.slice(0, maxLocationChars)}…` : value;
}

/** A UID field: missing, not a string or not a UID gives a problem naming the field. */
function uidField(fields: Map<string, unknown>, key: string, name: string, problems: string[]): string | undefined {
  const raw = fields.get(key);
  const value = text(raw);
  if (value === undefined) {
    problems.push(raw == null || raw === '' ? `${name} is missing or empty` : `${name} ${excerpt(raw)} is not a UID`);
    return undefined;
  }
  const problem = uidProblem(value);
  if (problem) problems.push(`${name} ${problem}`);
  return value;
}

function sequenceOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.trim().toLowerCase();
  return allowed.find((candidate) => candidate === lower);
}

export interface RowParseOptions {
  /** This machine's clock in milliseconds, for timestamps in the future (default Date.now()). */
  now?: number;
}

/**
 * Normalises one raw change-feed row; never throws. Every identifier is checked against its grammar (UIDs by
 * PS3.5 9.1, partition names by the Azure DICOM service's rule) and the timestamp must be an ISO-8601 date-time
 * with a time zone, not in the future: a row that fails is a bad row, recorded and read past.
 */
export function parseChangeFeedRow(raw: unknown, options: RowParseOptions = {}): ChangeFeedRow {
  if (!isPlainObject(raw)) return { kind: 'bad', raw, reason: 'row is not a JSON object' };
  const fields = lowerKeyed(raw);
  const problems: string[] = [];

  const rawSequence = fields.get('sequence');
  const sequence = sequenceOf(rawSequence);
  if (sequence === undefined) problems.push(rawSequence == null ? 'Sequence is missing' : 'Sequence is not a number');

  const study = uidField(fields, 'studyinstanceuid', 'StudyInstanceUid', problems);
  const series = uidField(fields, 'seriesinstanceuid', 'SeriesInstanceUid', problems);
  const instance = uidField(fields, 'sopinstanceuid', 'SopInstanceUid', problems);

  const rawAction = fields.get('action');
  const action = oneOf(rawAction, actions);
  if (!action) problems.push(rawAction == null ? 'Action is missing' : `Action ${excerpt(rawAction)} is unknown`);

  const rawState = fields.get('state');
  const state = oneOf(rawState, states);
  if (!state) problems.push(rawState == null ? 'State is missing' : `State ${excerpt(rawState)} is unknown`);

  const rawTimestamp = fields.get('timestamp');
  const timestamp = text(rawTimestamp);
  const timestampIssue =
    timestamp === undefined
      ? rawTimestamp == null
        ? 'is missing'
        : `${excerpt(rawTimestamp)} is not a date-time`
      : timestampProblem(timestamp, options.now ?? Date.now());
  if (timestampIssue) problems.push(`Timestamp ${timestampIssue}`);

  const rawPartition = fields.get('partitionname');
  const partitionName = text(rawPartition);
  if (rawPartition != null && rawPartition !== '' && partitionName === undefined) {
    problems.push(`PartitionName ${excerpt(rawPartition)} is not a partition name`);
  } else if (partitionName !== undefined) {
    const problem = partitionNameProblem(partitionName);
    if (problem) problems.push(`PartitionName ${problem}`);
  }

  const rawMetadata = fields.get('metadata');
  if (rawMetadata != null && !isPlainObject(rawMetadata)) problems.push('Metadata is not a DICOM JSON object');

  if (
    problems.length > 0 ||
    sequence === undefined ||
    !study ||
    !series ||
    !instance ||
    !action ||
    !state ||
    !timestamp
  ) {
    return {
      kind: 'bad',
      ...(sequence !== undefined ? { sequence } : {}),
      // Only a usable timestamp may place the row in a v2 position; the others stay where the reader is.
      ...(timestamp !== undefined && !timestampIssue ? { timestamp } : {}),
      ...(study ? { study: clip(study) } : {}),
      ...(series ? { series: clip(series) } : {}),
      ...(instance ? { instance: clip(instance) } : {}),
      raw,
      reason: problems.join('; '),
    };
  }

  const filePath = text(fields.get('filepath'));
  return {
    sequence,
    studyInstanceUid: study,
    seriesInstanceUid: series,
    sopInstanceUid: instance,
    action,
    state,
    timestamp,
    ...(partitionName ? { partitionName } : {}),
    ...(filePath ? { filePath } : {}),
    ...(isPlainObject(rawMetadata) ? { metadata: rawMetadata as DicomJsonDataset } : {}),
  };
}

/**
 * A row that cannot be where the feed put it: recorded like any bad row, and its sequence and timestamp are kept
 * only for the record (`reportedSequence`), never for paging.
 */
export function misplaced(row: ChangeFeedRow, reason: string): BadChangeFeedRow {
  if (isBadRow(row)) {
    const { sequence, timestamp: _timestamp, ...rest } = row;
    return {
      ...rest,
      ...(sequence !== undefined ? { reportedSequence: sequence } : {}),
      reason: `${row.reason}; ${reason}`,
    };
  }
  return {
    kind: 'bad',
    reportedSequence: row.sequence,
    study: row.studyInstanceUid,
    series: row.seriesInstanceUid,
    instance: row.sopInstanceUid,
    raw: row,
    reason,
  };
}
