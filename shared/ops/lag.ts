import type { ChangeFeedClient } from '../dicomweb/changeFeedClient.js';
import type { Checkpoint } from '../state/checkpointStore.js';

/** How far the checkpoint is behind the newest change-feed entry. */
export interface ChangeFeedLag {
  /** The newest entry of the feed; undefined when the feed is empty. */
  latest?: { sequence: number; timestamp?: string };
  /** Timestamp of the entry at the checkpoint (v2: stored with it; v1: read back from the feed). */
  checkpointTimestamp?: string;
  /** Newest sequence minus the checkpoint's (0 when caught up). */
  sequences: number;
  /**
   * Newest entry's timestamp minus the checkpoint entry's, in seconds (0 when caught up). Undefined when either
   * timestamp is unknown (no checkpoint yet, or the v1 row at the checkpoint is gone).
   * After a quiet spell it measures the feed time not yet read, not how long the newest change waited.
   */
  seconds?: number;
}

function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const start = Date.parse(from);
  const end = Date.parse(to);
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined;
  return Math.max(0, (end - start) / 1000);
}

/** Reads the newest entry (one request; v1 checkpoints need a second one for their timestamp) and compares. */
export async function measureLag(
  feed: Pick<ChangeFeedClient, 'latest' | 'readV1'>,
  checkpoint: Checkpoint | undefined,
): Promise<ChangeFeedLag> {
  const newest = await feed.latest();
  const latest =
    newest?.sequence !== undefined
      ? { sequence: newest.sequence, ...(newest.timestamp ? { timestamp: newest.timestamp } : {}) }
      : undefined;
  const checkpointSequence = checkpoint?.sequence ?? 0;
  const sequences = Math.max(0, (latest?.sequence ?? 0) - checkpointSequence);
  let checkpointTimestamp: string | undefined;
  if (checkpoint?.version === 'v2') checkpointTimestamp = checkpoint.timestamp;
  else if (checkpoint && checkpoint.sequence > 0 && sequences > 0) {
    const [row] = await feed.readV1(checkpoint.sequence - 1, 1);
    if (row?.sequence === checkpoint.sequence) checkpointTimestamp = row.timestamp;
  }
  const seconds = sequences === 0 ? 0 : secondsBetween(checkpointTimestamp, latest?.timestamp);
  return {
    ...(latest ? { latest } : {}),
    ...(checkpointTimestamp ? { checkpointTimestamp } : {}),
    sequences,
    ...(seconds !== undefined ? { seconds } : {}),
  };
}
