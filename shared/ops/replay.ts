import { studyKey } from '../lib/studyKey.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import { decodeStudyMessage, encodeStudyMessage } from '../queue/studyMessageCodec.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { FailureRecord, FailureStore } from '../state/failureStore.js';

export type ReplayResult =
  | { id: string; outcome: 'replayed'; study: string; maxSequence: number }
  /** Another record of the same message was replayed in this run; this one was cleared with it. */
  | { id: string; outcome: 'cleared'; study: string; maxSequence: number; sameAs: string }
  | { id: string; outcome: 'not-replayable'; why: string }
  | { id: string; outcome: 'not-found' };

export type ReplaySelection = { ids: readonly string[] } | { all: true; since?: Date };

/** The StudyMessage a record can be replayed with, or why it cannot. */
export function replayableMessage(record: FailureRecord): { message: StudyMessage } | { why: string } {
  const resync = record.study
    ? ` To bring the study in line anyway, run: dicom-cast resync --study ${record.study}`
    : '';
  if (record.payload === undefined) {
    return { why: `The record holds no payload to replay.${resync}` };
  }
  if (record.payloadTruncated) {
    return { why: `The payload was too large to keep whole when it was recorded.${resync}` };
  }
  try {
    // The same check the writer makes: a payload the codec reads back is a message the writer accepts.
    const message = decodeStudyMessage({ dicomCast: { version: 1, kind: 'study', payload: record.payload } });
    return { message };
  } catch {
    if (record.category === 'bad-change-feed-entry') {
      return {
        why:
          'The record holds a change-feed row (or queue message) that could not be read, not a study message: ' +
          're-enqueuing it as it is would fail the same way. Fix the data on the DICOM server (store the instance ' +
          `again, or delete it) so the feed writes a new row, then clear this record.${resync}`,
      };
    }
    return { why: `The payload is not a study message the writer accepts.${resync}` };
  }
}

function messageKey(message: StudyMessage): string {
  return `${studyKey(message.partition, message.study)}\u0000${message.maxSequence}`;
}

/**
 * Re-enqueues the study message of each selected failure record (re-encoded with the queue codec, without the old
 * trace context) and then removes the record. Records of the same message (one per bad instance, say) are replayed
 * once and all cleared. A record that cannot be replayed (a bad change-feed row, a truncated payload) is kept and
 * its result says why. A replayed message that fails again is recorded again by the writer.
 */
export async function replayFailures(
  deps: { failures: FailureStore; studyQueue: MessageQueue },
  selection: ReplaySelection,
): Promise<ReplayResult[]> {
  const since = 'all' in selection ? selection.since : undefined;
  const records = await deps.failures.list({ ...(since ? { since } : {}), limit: 100_000 });
  let chosen: (FailureRecord | string)[];
  if ('ids' in selection) {
    const byId = new Map(records.map((record) => [record.id, record]));
    chosen = selection.ids.map((id) => byId.get(id) ?? id);
  } else {
    chosen = records.slice().reverse(); // oldest first: replay in the order things failed
  }

  const results: ReplayResult[] = [];
  const replayed = new Map<string, string>();
  for (const record of chosen) {
    if (typeof record === 'string') {
      results.push({ id: record, outcome: 'not-found' });
      continue;
    }
    const replayable = replayableMessage(record);
    if ('why' in replayable) {
      results.push({ id: record.id, outcome: 'not-replayable', why: replayable.why });
      continue;
    }
    const message: StudyMessage = { ...replayable.message };
    delete message.traceparent;
    const key = messageKey(message);
    const first = replayed.get(key);
    if (first === undefined) {
      await deps.studyQueue.send([encodeStudyMessage(message)]);
      replayed.set(key, record.id);
      await deps.failures.remove(record.id);
      results.push({ id: record.id, outcome: 'replayed', study: message.study, maxSequence: message.maxSequence });
    } else {
      await deps.failures.remove(record.id);
      results.push({
        id: record.id,
        outcome: 'cleared',
        study: message.study,
        maxSequence: message.maxSequence,
        sameAs: first,
      });
    }
  }
  return results;
}
