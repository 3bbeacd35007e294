import { compareText } from '../lib/compareText.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { Checkpoint } from '../state/checkpointStore.js';

/** A study that changed, with the highest change-log sequence that named it. */
export interface StudyChange {
  study: string;
  sequence: number;
}

/** A change-log row that cannot be used: recorded as a failure, and the position still moves past it. */
export interface BadSourceRow {
  sequence?: number;
  reason: string;
  raw: unknown;
}

export interface ChangeSourcePage {
  /** Change-log rows read, for the run's counts. */
  rowsRead: number;
  studies: StudyChange[];
  badRows?: BadSourceRow[];
  /** Where the next page starts (may go back to 0 when the archive was wiped). */
  position: Checkpoint;
  /** Nothing more to read for now. */
  done: boolean;
}

/**
 * An archive's change log that names studies rather than instances (Orthanc's `/changes`). The poller reads it page
 * by page in place of the Azure change feed, with the same checkpoint, batching and at-least-once enqueueing.
 */
export interface ChangeSource {
  readPage(position: Checkpoint, pageSize: number): Promise<ChangeSourcePage>;
}

/** Keeps the highest sequence per study: one message per study per poll. */
export function addStudyChanges(pending: Map<string, number>, changes: readonly StudyChange[]): void {
  for (const { study, sequence } of changes) pending.set(study, Math.max(pending.get(study) ?? 0, sequence));
}

/**
 * Reconcile messages for studies a change log named: no instance list (the writer reads the whole study anyway),
 * `maxSequence` the newest row that named the study. In sequence order, so the output depends only on the input.
 */
export function studyChangeMessages(pending: ReadonlyMap<string, number>, traceparent?: string): StudyMessage[] {
  return [...pending]
    .sort(([studyA, a], [studyB, b]) => a - b || compareText(studyA, studyB))
    .map(([study, maxSequence]) => ({ study, changes: [], maxSequence, ...(traceparent ? { traceparent } : {}) }));
}
