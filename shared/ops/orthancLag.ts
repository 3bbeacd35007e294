import { orthancDateToIso, type OrthancClient } from '../orthanc/orthancClient.js';
import type { Checkpoint } from '../state/checkpointStore.js';
import type { ChangeFeedLag } from './lag.js';

/**
 * How far the checkpoint is behind Orthanc's newest change-log row: in rows, and in seconds between the row at the
 * checkpoint and the newest (undefined when the row at the checkpoint is gone: deletes remove rows).
 */
export async function measureOrthancLag(
  orthanc: Pick<OrthancClient, 'lastChange' | 'changes'>,
  checkpoint: Checkpoint | undefined,
): Promise<ChangeFeedLag> {
  const newest = await orthanc.lastChange();
  const latestTimestamp = orthancDateToIso(newest?.date);
  const latest = newest
    ? { sequence: newest.seq, ...(latestTimestamp ? { timestamp: latestTimestamp } : {}) }
    : undefined;
  const checkpointSequence = checkpoint?.sequence ?? 0;
  const sequences = Math.max(0, (latest?.sequence ?? 0) - checkpointSequence);
  let checkpointTimestamp: string | undefined;
  if (sequences > 0 && checkpointSequence > 0) {
    const [row] = (await orthanc.changes(checkpointSequence - 1, 1)).changes;
    if (row?.seq === checkpointSequence) checkpointTimestamp = orthancDateToIso(row.date);
  }
  const seconds =
    sequences === 0
      ? 0
      : checkpointTimestamp && latestTimestamp
        ? Math.max(0, (Date.parse(latestTimestamp) - Date.parse(checkpointTimestamp)) / 1000)
        : undefined;
  return {
    ...(latest ? { latest } : {}),
    ...(checkpointTimestamp ? { checkpointTimestamp } : {}),
    sequences,
    ...(seconds !== undefined ? { seconds } : {}),
  };
}
