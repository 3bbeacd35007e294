import type { TableClient } from '@azure/data-tables';
import { RetryableError } from '../errors/errors.js';
import type { OrthancStudyRef } from '../orthanc/orthancClient.js';
import { checkpointRowKey } from '../state/checkpointStore.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { describeStorageError } from '../state/storageClients.js';

/**
 * Orthanc study id → Study Instance UID, remembered in Table Storage: once a study is deleted Orthanc answers 404
 * for its id, so what it was must be known from before. Also the list of every study this app has seen, which a
 * wiped database makes us reconcile.
 */
export interface OrthancStudyIds {
  get(id: string): Promise<string | undefined>;
  remember(studies: readonly OrthancStudyRef[]): Promise<void>;
  /** Every remembered Study Instance UID (distinct). */
  allStudyUids(): Promise<string[]>;
}

/** Rows in the checkpoint table, one partition per Orthanc endpoint, row key the Orthanc id. */
export function createOrthancStudyIds(table: TableClient, endpoint: string): OrthancStudyIds {
  const partitionKey = `orthanc-study-ids|${checkpointRowKey({ endpoint })}`;
  const known = new Map<string, string>();
  const failed = (action: string, error: unknown) =>
    new RetryableError(
      `${action} Orthanc study ids failed: ${describeStorageError(error)}`,
      'transient',
      {},
      {
        cause: error,
      },
    );

  return {
    async get(id) {
      const cached = known.get(id);
      if (cached) return cached;
      try {
        const entity = await table.getEntity<{ studyUid?: unknown }>(partitionKey, id);
        if (typeof entity.studyUid !== 'string') return undefined;
        known.set(id, entity.studyUid);
        return entity.studyUid;
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw failed('Reading', error);
      }
    },

    async remember(studies) {
      for (const study of studies) {
        if (known.get(study.id) === study.studyUid) continue;
        try {
          await table.upsertEntity({ partitionKey, rowKey: study.id, studyUid: study.studyUid }, 'Replace');
        } catch (error) {
          throw failed('Saving', error);
        }
        known.set(study.id, study.studyUid);
      }
    },

    async allStudyUids() {
      const uids = new Set<string>();
      try {
        const rows = table.listEntities<{ studyUid?: unknown }>({
          queryOptions: { filter: `PartitionKey eq '${partitionKey.replaceAll("'", "''")}'`, select: ['studyUid'] },
        });
        for await (const row of rows) if (typeof row.studyUid === 'string') uids.add(row.studyUid);
      } catch (error) {
        throw failed('Listing', error);
      }
      return [...uids];
    },
  };
}
