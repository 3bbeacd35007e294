import { compareText } from '../lib/compareText.js';
import { readInstance, type InstanceRecord, type RejectedInstance } from './instanceRecord.js';
import type { MappingOptions, StudyInstance } from './types.js';

/** A study's instances, each read and checked once (readInstance); the ImagingStudy and the Patient are built from it. */
export interface StudyInstancesRead {
  /** The usable instances by SOP Instance UID (the one stored last when a SOP is listed twice). */
  records: Map<string, InstanceRecord>;
  /** Instances left out (missing or invalid tags), by SOP Instance UID. */
  rejectedInstances: RejectedInstance[];
  /**
   * The instance whose study-level attributes (and Patient) win: the one stored last among the usable ones.
   * Undefined when every instance is rejected.
   */
  winner?: { record: InstanceRecord; instance: StudyInstance };
}

export function readStudyInstances(
  studyUid: string,
  instances: readonly StudyInstance[],
  options: MappingOptions,
): StudyInstancesRead {
  const reader = new StudyInstancesReader(studyUid, options);
  for (const instance of instances) reader.add(instance);
  return reader.result();
}

/**
 * readStudyInstances one instance at a time, as a study's metadata arrives: keeps each instance's record and the
 * winner's dataset (the Patient is built from it), never the other datasets. The same instances in the same order
 * give what readStudyInstances gives.
 */
export class StudyInstancesReader {
  private readonly records = new Map<string, InstanceRecord>();
  private readonly rejected: RejectedInstance[] = [];
  private winner: { record: InstanceRecord; instance: StudyInstance } | undefined;

  constructor(
    private readonly studyUid: string,
    private readonly options: MappingOptions,
  ) {}

  /** Reads the instance; returns its record, or undefined when it is rejected. */
  add(instance: StudyInstance): InstanceRecord | undefined {
    const read = readInstance(instance, this.studyUid, this.options);
    if (read.rejected) {
      this.rejected.push(read.rejected);
      return undefined;
    }
    const { record } = read;
    const previous = this.records.get(record.sop);
    if (!previous || latest([record, previous]) === record) this.records.set(record.sop, record);
    // As the map above, the later of two equal records replaces the earlier (equal records share their SOP).
    if (!this.winner || latest([record, this.winner.record]) === record) this.winner = { record, instance };
    return record;
  }

  result(): StudyInstancesRead {
    const rejectedInstances = [...this.rejected].sort((a, b) => compareText(a.sop, b.sop));
    return { records: this.records, rejectedInstances, ...(this.winner ? { winner: this.winner } : {}) };
  }
}

/**
 * The instance stored last: highest change-feed sequence, then highest SOP Instance UID; the same SOP
 * listed twice with the same sequence is settled by its content, so input order never matters.
 */
export function latest(records: InstanceRecord[]): InstanceRecord | undefined {
  let best: InstanceRecord | undefined;
  for (const record of records) {
    if (!best || compareRecency(record, best) > 0) best = record;
  }
  return best;
}

function compareRecency(a: InstanceRecord, b: InstanceRecord): number {
  const sequenceA = a.sequence ?? -Infinity;
  const sequenceB = b.sequence ?? -Infinity;
  if (sequenceA !== sequenceB) return sequenceA > sequenceB ? 1 : -1;
  return compareText(a.sop, b.sop) || compareText(JSON.stringify(a), JSON.stringify(b));
}
