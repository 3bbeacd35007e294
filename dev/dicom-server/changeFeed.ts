// The change feed, kept the way the Azure DICOM service keeps it: rows never change except through their
// instance's current version. A row is `current` when it wrote the instance's current version, `deleted`
// when the instance has no current version, `replaced` otherwise (a later store or bulk update won).
import type { ChangeFeedAction, ChangeFeedEntry, ChangeFeedState } from '../../shared/dicomweb/changeFeedEntry.js';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';

export interface InstanceIdentity {
  partition: string;
  study: string;
  series: string;
  sop: string;
}

interface InstanceLineage {
  current: { version: number; dataset: DicomJsonDataset } | null;
}

export interface FeedRow {
  readonly sequence: number;
  readonly timestampMs: number;
  readonly timestamp: string;
  readonly action: ChangeFeedAction;
  readonly instance: InstanceIdentity;
  readonly filePath: string;
  /** The instance version this row wrote (for a delete: the version it deleted). */
  readonly version: number;
  readonly lineage: InstanceLineage;
}

export function instanceKey(instance: InstanceIdentity): string {
  return `${instance.partition}\u0000${instance.study}\u0000${instance.series}\u0000${instance.sop}`;
}

export class ChangeFeedLog {
  /** Ordered by sequence, and so by timestamp too (timestamps never go back). */
  private readonly rows: FeedRow[] = [];
  private readonly lineages = new Map<string, InstanceLineage>();
  private nextSequence = 1;
  private nextVersion = 1;
  private lastTimestampMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly skipAfter: (sequence: number) => number,
    private readonly clock: () => Date,
  ) {}

  get length(): number {
    return this.rows.length;
  }

  /** A create (new or re-stored instance) or an update (bulk update): this row's version becomes current. */
  recordWrite(action: 'create' | 'update', instance: InstanceIdentity, dataset: DicomJsonDataset, filePath: string) {
    const lineage = this.lineageOf(instance);
    const version = this.nextVersion++;
    lineage.current = { version, dataset };
    return this.append(action, instance, filePath, version, lineage);
  }

  recordDelete(instance: InstanceIdentity, filePath: string): FeedRow {
    const lineage = this.lineageOf(instance);
    const version = lineage.current?.version ?? 0;
    lineage.current = null;
    return this.append('delete', instance, filePath, version, lineage);
  }

  latest(): FeedRow | undefined {
    return this.rows.at(-1);
  }

  /** v1: rows with offset < sequence <= offset + limit (a window over sequence numbers, not a row count). */
  sequenceWindow(offset: number, limit: number): FeedRow[] {
    const out: FeedRow[] = [];
    const last = offset + limit;
    for (let i = this.firstIndex((row) => row.sequence > offset); i < this.rows.length; i++) {
      const row = this.rows[i]!;
      if (row.sequence > last) break;
      out.push(row);
    }
    return out;
  }

  /** v2: rows with start <= timestamp < end, ordered by (timestamp, sequence), skipping `offset` rows. */
  timeWindow(startMs: number, endMs: number, offset: number, limit: number): FeedRow[] {
    const out: FeedRow[] = [];
    for (let i = this.firstIndex((row) => row.timestampMs >= startMs) + offset; i < this.rows.length; i++) {
      const row = this.rows[i]!;
      if (row.timestampMs >= endMs || out.length >= limit) break;
      out.push(row);
    }
    return out;
  }

  private append(
    action: ChangeFeedAction,
    instance: InstanceIdentity,
    filePath: string,
    version: number,
    lineage: InstanceLineage,
  ): FeedRow {
    const sequence = this.nextSequence;
    this.nextSequence = sequence + 1 + Math.max(0, Math.floor(this.skipAfter(sequence)));
    const timestampMs = Math.max(this.clock().getTime(), this.lastTimestampMs);
    this.lastTimestampMs = timestampMs;
    const row: FeedRow = {
      sequence,
      timestampMs,
      timestamp: new Date(timestampMs).toISOString(),
      action,
      instance: { ...instance },
      filePath,
      version,
      lineage,
    };
    this.rows.push(row);
    return row;
  }

  private lineageOf(instance: InstanceIdentity): InstanceLineage {
    const key = instanceKey(instance);
    let lineage = this.lineages.get(key);
    if (!lineage) {
      lineage = { current: null };
      this.lineages.set(key, lineage);
    }
    return lineage;
  }

  /** Binary search: index of the first row for which `after` holds (rows are monotonic in it). */
  private firstIndex(after: (row: FeedRow) => boolean): number {
    let low = 0;
    let high = this.rows.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (after(this.rows[mid]!)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}

export function rowState(row: FeedRow): ChangeFeedState {
  const current = row.lineage.current;
  if (current === null) return 'deleted';
  return current.version === row.version ? 'current' : 'replaced';
}

/** The entry as the service returns it; metadata is the instance's current version, absent once deleted. */
export function toEntry(row: FeedRow, includeMetadata: boolean): ChangeFeedEntry {
  const state = rowState(row);
  const entry: ChangeFeedEntry = {
    sequence: row.sequence,
    partitionName: row.instance.partition,
    studyInstanceUid: row.instance.study,
    seriesInstanceUid: row.instance.series,
    sopInstanceUid: row.instance.sop,
    action: row.action,
    timestamp: row.timestamp,
    state,
  };
  if (includeMetadata && row.lineage.current) entry.metadata = row.lineage.current.dataset;
  entry.filePath = row.filePath;
  return entry;
}

/** Property names in PascalCase (as the service's docs print them); enum values stay lower case. */
export function toPascalCase(entry: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) out[key.charAt(0).toUpperCase() + key.slice(1)] = value;
  return out;
}
