import type { TableClient } from '@azure/data-tables';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { describeStorageError } from './storageClients.js';

/**
 * How far the poller has read the change feed.
 * v1 pages by sequence; v2 pages by time, and `offset` counts the rows already read at exactly `timestamp`
 * (several rows can share a timestamp, and the v2 API skips rows by count, not by sequence).
 * `sequence` is the highest sequence read so far in both, which also lets a switch from v2 to v1 resume.
 */
export type Checkpoint =
  { version: 'v1'; sequence: number } | { version: 'v2'; timestamp: string; offset: number; sequence: number };

export type CheckpointWriteResult = { outcome: 'written'; etag: string } | { outcome: 'conflict' };

/** One checkpoint, guarded by its ETag so two pollers can never both move it from the same place. */
export interface CheckpointStore {
  read(): Promise<{ checkpoint: Checkpoint; etag: string } | undefined>;
  /**
   * `etag` undefined: create (conflict if it exists). Otherwise replace only if unchanged since read (If-Match).
   * 'written' carries the new ETag, for the next write of the same run.
   */
  write(checkpoint: Checkpoint, etag: string | undefined): Promise<CheckpointWriteResult>;
}

export interface CheckpointScope {
  /** The DICOM server's base URL. */
  endpoint: string;
}

const partitionKey = 'checkpoint';

/**
 * The row key names the DICOM endpoint, readable in Storage Explorer, so apps that share a
 * table keep apart. Characters that row keys forbid (/ \ # ? and control characters) are percent-encoded.
 */
export function checkpointRowKey(scope: CheckpointScope): string {
  let endpoint = scope.endpoint.trim();
  try {
    const url = new URL(endpoint);
    endpoint = `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    // Not a URL: keep the text as given.
  }
  return encodeURIComponent(endpoint.replace(/\/+$/, '').toLowerCase());
}

interface CheckpointEntity {
  partitionKey: string;
  rowKey: string;
  version: string;
  sequence: number;
  /** Not `timestamp`: that name belongs to the table's own last-modified property. */
  feedTimestamp?: string;
  feedOffset?: number;
  endpoint: string;
  writtenAt: string;
}

function toCheckpoint(entity: Partial<CheckpointEntity>, where: string): Checkpoint {
  const { version, sequence, feedTimestamp, feedOffset } = entity;
  const validSequence = typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 0;
  if (version === 'v1' && validSequence) return { version, sequence };
  if (
    version === 'v2' &&
    validSequence &&
    typeof feedTimestamp === 'string' &&
    typeof feedOffset === 'number' &&
    Number.isSafeInteger(feedOffset) &&
    feedOffset >= 0
  ) {
    return { version, timestamp: feedTimestamp, offset: feedOffset, sequence };
  }
  throw new NonRetryableError(`The checkpoint row ${where} is malformed; fix or delete it`, 'configuration');
}

export function createCheckpointStore(table: TableClient, scope: CheckpointScope): CheckpointStore {
  const rowKey = checkpointRowKey(scope);
  const where = `${table.tableName}/${partitionKey}/${rowKey}`;

  const toEntity = (checkpoint: Checkpoint): CheckpointEntity => ({
    partitionKey,
    rowKey,
    version: checkpoint.version,
    sequence: checkpoint.sequence,
    ...(checkpoint.version === 'v2' ? { feedTimestamp: checkpoint.timestamp, feedOffset: checkpoint.offset } : {}),
    endpoint: scope.endpoint,
    writtenAt: new Date().toISOString(),
  });

  const failed = (action: string, error: unknown) =>
    new RetryableError(
      `${action} checkpoint ${where} failed: ${describeStorageError(error)}`,
      'transient',
      {},
      {
        cause: error,
      },
    );

  return {
    async read() {
      try {
        const entity = await table.getEntity<Partial<CheckpointEntity>>(partitionKey, rowKey);
        if (!entity.etag) throw new RetryableError(`Checkpoint ${where} came back without an ETag`, 'transient');
        return { checkpoint: toCheckpoint(entity, where), etag: entity.etag };
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        if (error instanceof NonRetryableError || error instanceof RetryableError) throw error;
        throw failed('Reading', error);
      }
    },

    async write(checkpoint, etag) {
      try {
        // Replace, not merge: a v2 row written over a v1 row must not keep stale fields, and vice versa.
        const response =
          etag === undefined
            ? await table.createEntity(toEntity(checkpoint))
            : await table.updateEntity(toEntity(checkpoint), 'Replace', { etag });
        if (!response.etag) throw new RetryableError(`Checkpoint ${where} was written without an ETag`, 'transient');
        return { outcome: 'written', etag: response.etag };
      } catch (error) {
        const status = httpStatusOf(error);
        if ((etag === undefined && status === 409) || (etag !== undefined && (status === 412 || status === 404))) {
          return { outcome: 'conflict' };
        }
        if (error instanceof RetryableError) throw error;
        throw failed('Writing', error);
      }
    },
  };
}
