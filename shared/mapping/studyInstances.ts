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
  const records = new Map<string, InstanceRecord>();
  const sources = new Map<InstanceRecord, StudyInstance>();
  const rejectedInstances: RejectedInstance[] = [];
  for (const instance of instances) {
    const read = readInstance(instance, studyUid, options);
    if (read.rejected) {
      rejectedInstances.push(read.rejected);
      continue;
    }
    sources.set(read.record, instance);
    const previous = records.get(read.record.sop);
    if (!previous || latest([read.record, previous]) === read.record) records.set(read.record.sop, read.record);
  }
  rejectedInstances.sort((a, b) => compareText(a.sop, b.sop));
  const record = latest([...records.values()]);
  const instance = record && sources.get(record);
  return { records, rejectedInstances, ...(record && instance ? { winner: { record, instance } } : {}) };
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
