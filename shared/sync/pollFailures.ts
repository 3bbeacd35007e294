import type { BadSourceRow } from '../changes/changeSource.js';
import type { BadChangeFeedRow } from '../dicomweb/changeFeedRow.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { failureOf, type Failure, type NonRetryableError } from '../errors/errors.js';

/** The failure records of what a poller run skips: each names what was wrong and carries what replays it. */

/** A change-feed row that cannot be used. */
export function badRowFailure(row: BadChangeFeedRow): Failure {
  const sequence = row.sequence ?? row.reportedSequence;
  const which = sequence !== undefined ? `sequence ${sequence}` : 'with no readable sequence';
  return {
    category: 'bad-change-feed-entry',
    reason: `Change feed entry ${which} skipped: ${row.reason}`,
    ...(row.study ? { study: row.study } : {}),
    ...(row.series ? { series: row.series } : {}),
    ...(row.instance ? { instance: row.instance } : {}),
    ...(sequence !== undefined ? { sequence } : {}),
    payload: row.raw,
  };
}

/** A row of another archive's change log (Orthanc) that cannot be used. */
export function badSourceRowFailure(row: BadSourceRow): Failure {
  return {
    category: 'bad-change-feed-entry',
    reason: row.reason,
    ...(row.sequence !== undefined ? { sequence: row.sequence } : {}),
    payload: row.raw,
  };
}

/** A study message that cannot be a queue message; its first 100 changes are kept to replay it. */
export function unencodableMessageFailure(message: StudyMessage, error: NonRetryableError): Failure {
  return {
    ...failureOf(error),
    sequence: message.maxSequence,
    payload: { ...message, changes: message.changes.slice(0, 100) },
  };
}
