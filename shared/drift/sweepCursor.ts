import type { TableClient } from '@azure/data-tables';
import { RetryableError } from '../errors/errors.js';
import { checkpointRowKey } from '../state/checkpointStore.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { describeStorageError } from '../state/storageClients.js';

/**
 * Where a drift sweep has got to: first the archive's studies (QIDO-RS offset), then FHIR's ImagingStudies (the
 * next-page URL the FHIR server gave). Saved after each page so the next run resumes there.
 */
export interface SweepCursor {
  phase: 'archive' | 'fhir';
  offset: number;
  fhirNext?: string;
  startedAt: string;
  /** Totals since the sweep started (across runs). */
  studiesChecked: number;
  enqueued: number;
}

export interface SweepCursorStore {
  read(): Promise<SweepCursor | undefined>;
  write(cursor: SweepCursor): Promise<void>;
  clear(): Promise<void>;
}

const partitionKey = 'drift-sweep';

/** One row per DICOM endpoint in the checkpoint table, partition `drift-sweep`. */
export function createSweepCursorStore(table: TableClient, endpoint: string): SweepCursorStore {
  const rowKey = checkpointRowKey({ endpoint });
  const failed = (action: string, error: unknown) =>
    new RetryableError(
      `${action} the drift-sweep cursor failed: ${describeStorageError(error)}`,
      'transient',
      {},
      {
        cause: error,
      },
    );
  return {
    async read() {
      try {
        const entity = await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
        const { phase, offset, fhirNext, startedAt, studiesChecked, enqueued } = entity;
        if ((phase !== 'archive' && phase !== 'fhir') || typeof offset !== 'number' || typeof startedAt !== 'string') {
          return undefined; // unreadable: start over, which is always safe
        }
        return {
          phase,
          offset,
          ...(typeof fhirNext === 'string' && fhirNext !== '' ? { fhirNext } : {}),
          startedAt,
          studiesChecked: typeof studiesChecked === 'number' ? studiesChecked : 0,
          enqueued: typeof enqueued === 'number' ? enqueued : 0,
        };
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw failed('Reading', error);
      }
    },
    async write(cursor) {
      try {
        await table.upsertEntity(
          {
            partitionKey,
            rowKey,
            endpoint,
            ...cursor,
            fhirNext: cursor.fhirNext ?? '',
            updatedAt: new Date().toISOString(),
          },
          'Replace',
        );
      } catch (error) {
        throw failed('Saving', error);
      }
    },
    async clear() {
      try {
        await table.deleteEntity(partitionKey, rowKey);
      } catch (error) {
        if (httpStatusOf(error) !== 404) throw failed('Clearing', error);
      }
    },
  };
}
