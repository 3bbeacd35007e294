import type { ChangeFeedVersion } from '../dicomweb/changeFeedClient.js';
import type { ChangeFeedRow } from '../dicomweb/changeFeedRow.js';
import type { Checkpoint } from '../state/checkpointStore.js';

/** Where the poller stands in the change feed: the checkpoint it read, how it starts and how it moves row by row. */

const epoch = '1970-01-01T00:00:00Z';

export type V2Checkpoint = Extract<Checkpoint, { version: 'v2' }>;

export function sameCheckpoint(a: Checkpoint | undefined, b: Checkpoint): boolean {
  if (!a || a.version !== b.version || a.sequence !== b.sequence) return false;
  return a.version === 'v1' || b.version === 'v1' || (a.timestamp === b.timestamp && a.offset === b.offset);
}

/**
 * Where to start reading. A checkpoint written by the other API version is converted: v2 → v1 resumes at its
 * sequence; v1 → v2 has no timestamp, so it reads from the start and drops rows at or below the old sequence.
 */
export function startPosition(
  version: ChangeFeedVersion,
  stored: Checkpoint | undefined,
): { position: Checkpoint; skipThroughSequence: number } {
  if (version === 'v1') return { position: { version, sequence: stored?.sequence ?? 0 }, skipThroughSequence: -1 };
  if (stored?.version === 'v2') return { position: { ...stored }, skipThroughSequence: -1 };
  const sequence = stored?.sequence ?? 0;
  return {
    position: { version: 'v2', timestamp: epoch, offset: 0, sequence },
    skipThroughSequence: stored ? sequence : -1,
  };
}

/**
 * v2 position after one more row: rows at the same timestamp are counted, a new timestamp restarts the count.
 * A row whose timestamp could not be read is counted where it stands: it sorts at or after the current timestamp,
 * so skipping that many rows from the current timestamp still lands just after it.
 */
export function afterV2Row(position: V2Checkpoint, row: ChangeFeedRow): V2Checkpoint {
  const sequence = Math.max(position.sequence, row.sequence ?? 0);
  if (row.timestamp !== undefined && row.timestamp !== position.timestamp) {
    return { version: 'v2', timestamp: row.timestamp, offset: 1, sequence };
  }
  return { ...position, offset: position.offset + 1, sequence };
}
