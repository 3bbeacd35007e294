import type { ChangeFeedAction, ChangeFeedEntry, ChangeFeedState } from './changeFeedEntry.js';
import type { DicomJsonDataset } from './dicomJson.js';

/**
 * A change-feed row that could not be turned into a ChangeFeedEntry. It keeps what could be read
 * (sequence, timestamp and UIDs, for the failure record and for paging) and the raw row (for replay).
 */
export interface BadChangeFeedRow {
  kind: 'bad';
  sequence?: number;
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

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

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

/** Normalises one raw change-feed row; never throws. */
export function parseChangeFeedRow(raw: unknown): ChangeFeedRow {
  if (!isObject(raw)) return { kind: 'bad', raw, reason: 'row is not a JSON object' };
  const fields = lowerKeyed(raw);
  const problems: string[] = [];

  const rawSequence = fields.get('sequence');
  const sequence = sequenceOf(rawSequence);
  if (sequence === undefined) problems.push(rawSequence == null ? 'Sequence is missing' : 'Sequence is not a number');

  const study = text(fields.get('studyinstanceuid'));
  const series = text(fields.get('seriesinstanceuid'));
  const instance = text(fields.get('sopinstanceuid'));
  if (!study) problems.push('StudyInstanceUid is missing or empty');
  if (!series) problems.push('SeriesInstanceUid is missing or empty');
  if (!instance) problems.push('SopInstanceUid is missing or empty');

  const rawAction = fields.get('action');
  const action = oneOf(rawAction, actions);
  if (!action)
    problems.push(rawAction == null ? 'Action is missing' : `Action ${JSON.stringify(rawAction)} is unknown`);

  const rawState = fields.get('state');
  const state = oneOf(rawState, states);
  if (!state) problems.push(rawState == null ? 'State is missing' : `State ${JSON.stringify(rawState)} is unknown`);

  const timestamp = text(fields.get('timestamp'));
  if (!timestamp || Number.isNaN(Date.parse(timestamp))) problems.push('Timestamp is missing or not a date-time');

  const rawMetadata = fields.get('metadata');
  if (rawMetadata != null && !isObject(rawMetadata)) problems.push('Metadata is not a DICOM JSON object');

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
      ...(timestamp && !Number.isNaN(Date.parse(timestamp)) ? { timestamp } : {}),
      ...(study ? { study } : {}),
      ...(series ? { series } : {}),
      ...(instance ? { instance } : {}),
      raw,
      reason: problems.join('; '),
    };
  }

  const partitionName = text(fields.get('partitionname'));
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
    ...(isObject(rawMetadata) ? { metadata: rawMetadata as DicomJsonDataset } : {}),
  };
}
