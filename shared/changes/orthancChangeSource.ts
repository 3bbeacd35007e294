import type { OrthancChange, OrthancClient, OrthancStudyRef } from '../orthanc/orthancClient.js';
import { forEachLimited } from '../lib/concurrency.js';
import type { Log } from '../logging/log.js';
import type { ChangeSource, StudyChange } from './changeSource.js';
import type { OrthancStudyIds } from './orthancStudyIds.js';

export interface OrthancChangeSourceDeps {
  orthanc: OrthancClient;
  studyIds: OrthancStudyIds;
  log?: Log;
  /** Resolutions in flight at once (default 8). */
  concurrency?: number;
}

const resourceTypes = new Set(['Patient', 'Study', 'Series', 'Instance']);

/**
 * Orthanc's change log as a change source. Every row about a patient, study, series or instance (New*, Stable*,
 * Updated*) is an upsert of its study: StableStudy is not waited for (it never comes when Orthanc restarts within
 * StableAge). Rows name Orthanc ids, so each is resolved to its study once; study ids are remembered, because a
 * deleted study's id can no longer be asked. Deletions are never logged: the drift sweep finds them.
 *
 * A `Last` below the checkpoint means Orthanc's database was wiped or replaced: the position goes back to 0 (the
 * whole new log is read) and every study ever seen is reconciled (the writer removes those that are gone).
 */
export function createOrthancChangeSource(deps: OrthancChangeSourceDeps): ChangeSource {
  const { orthanc, studyIds } = deps;
  const log: Log = deps.log ?? (() => undefined);
  const concurrency = Math.max(1, deps.concurrency ?? 8);

  const resolve = async (change: OrthancChange): Promise<OrthancStudyRef[]> => {
    if (change.resourceType === 'Study') {
      const known = await studyIds.get(change.id);
      if (known) return [{ id: change.id, studyUid: known }];
    }
    const found = await orthanc.studiesOf(change.resourceType, change.id);
    if (found === 'gone') {
      // Deleted since the row was written (its rows usually vanish with it); the sweep settles what is left.
      log('debug', `Orthanc ${change.resourceType} ${change.id} (Seq ${change.seq}) is gone; skipped`, {
        sequence: change.seq,
      });
      return [];
    }
    await studyIds.remember(found);
    return found;
  };

  return {
    async readPage(position, pageSize) {
      const since = position.sequence;
      const page = await orthanc.changes(since, pageSize);
      if (page.changes.length === 0 && page.last < since) {
        const studies = await studyIds.allStudyUids();
        log(
          'error',
          `Orthanc's change log ends at Seq ${page.last}, below the checkpoint ${since}: its database was wiped or ` +
            `replaced. Full resync: reading its change log from the start and reconciling the ${studies.length} ` +
            `studies seen before`,
          { checkpoint: since, last: page.last, studies: studies.length },
        );
        return {
          rowsRead: 0,
          studies: studies.map((study) => ({ study, sequence: 0 })),
          position: { version: 'v1', sequence: 0 },
          done: false,
        };
      }

      // One resolution per distinct resource of the page; rows keep their own sequence.
      const rows = page.changes.filter((change) => resourceTypes.has(change.resourceType));
      const distinct = [...new Map(rows.map((row) => [`${row.resourceType}/${row.id}`, row])).values()];
      const resolved = new Array<OrthancStudyRef[]>(distinct.length);
      await forEachLimited([...distinct.keys()], concurrency, async (index) => {
        resolved[index] = await resolve(distinct[index]!);
      });
      const studiesOf = new Map(distinct.map((row, index) => [`${row.resourceType}/${row.id}`, resolved[index]!]));
      const studies: StudyChange[] = rows.flatMap((row) =>
        (studiesOf.get(`${row.resourceType}/${row.id}`) ?? []).map((ref) => ({
          study: ref.studyUid,
          sequence: row.seq,
        })),
      );

      const malformed = page.malformed ?? [];
      const sequences = [
        ...page.changes.map((change) => change.seq),
        ...malformed.flatMap((row) => row.sequence ?? []),
      ];
      // Past the last row read, a malformed one included (else it would be read and recorded again on every poll).
      const last = sequences.length > 0 ? Math.max(...sequences) : page.last;
      return {
        rowsRead: page.changes.length + malformed.length,
        studies,
        ...(malformed.length > 0 ? { badRows: malformed } : {}),
        position: { version: 'v1', sequence: Math.max(since, last) },
        done: page.done || page.changes.length + malformed.length === 0,
      };
    },
  };
}
