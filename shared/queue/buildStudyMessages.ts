import type { ChangeFeedEntry } from '../dicomweb/changeFeedEntry.js';
import { compareText } from '../lib/compareText.js';
import { studyKey } from '../lib/studyKey.js';
import type { InstanceChange, StudyMessage } from './studyMessage.js';

/**
 * One message per (partition, study) of a batch of change-feed entries. An instance changed several times
 * is listed once, as its newest row (highest sequence): the writer reads the current state anyway.
 * Changes are in sequence order; messages in order of their newest change, so the output depends only on the input set.
 */
export function buildStudyMessages(entries: readonly ChangeFeedEntry[], traceparent?: string): StudyMessage[] {
  const studies = new Map<string, { study: string; partition?: string; changes: Map<string, InstanceChange> }>();
  for (const entry of entries) {
    const key = studyKey(entry.partitionName, entry.studyInstanceUid);
    let study = studies.get(key);
    if (!study) {
      study = {
        study: entry.studyInstanceUid,
        ...(entry.partitionName ? { partition: entry.partitionName } : {}),
        changes: new Map(),
      };
      studies.set(key, study);
    }
    const instanceKey = `${entry.seriesInstanceUid}\u0000${entry.sopInstanceUid}`;
    const known = study.changes.get(instanceKey);
    if (!known || entry.sequence > known.sequence) {
      study.changes.set(instanceKey, {
        series: entry.seriesInstanceUid,
        sop: entry.sopInstanceUid,
        action: entry.action,
        sequence: entry.sequence,
        state: entry.state,
      });
    }
  }

  const messages: StudyMessage[] = [];
  for (const { study, partition, changes } of studies.values()) {
    const sorted = [...changes.values()].sort(
      (a, b) => a.sequence - b.sequence || compareText(a.series, b.series) || compareText(a.sop, b.sop),
    );
    messages.push({
      study,
      ...(partition ? { partition } : {}),
      changes: sorted,
      maxSequence: sorted.reduce((max, change) => Math.max(max, change.sequence), 0),
      ...(traceparent ? { traceparent } : {}),
    });
  }
  return messages.sort(
    (a, b) =>
      a.maxSequence - b.maxSequence ||
      compareText(a.partition ?? '', b.partition ?? '') ||
      compareText(a.study, b.study),
  );
}
