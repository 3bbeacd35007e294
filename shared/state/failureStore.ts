import { randomBytes } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { RetryableError, type ErrorCategory, type Failure } from '../errors/errors.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { capText, describeStorageError } from './storageClients.js';

/**
 * A failure as kept: study, series, instance and tag are stored apart for people to filter on; a setting, a resource
 * and validator problems are named in the reason.
 */
export interface FailureRecord extends Omit<Failure, 'setting' | 'resource' | 'problems'> {
  /** The row key: sorts newest first. */
  id: string;
  occurredAt: string;
  /** Set when the payload was too large to keep whole; `payload` is then the start of its JSON text. */
  payloadTruncated?: boolean;
}

/** What could not be synchronised and why, for people and for replay. */
export interface FailureStore {
  record(failure: Failure): Promise<FailureRecord>;
  /** Newest first; `since` keeps records at or after that time; `limit` defaults to 100. */
  list(options?: { since?: Date; limit?: number }): Promise<FailureRecord[]>;
  remove(id: string): Promise<void>;
}

const partitionKey = 'failure';
/** Table string properties hold at most 64 KiB of UTF-16, i.e. 32 Ki characters; stay a little under. */
const chunkChars = 32_000;
/** 12 chunks ≈ 768 KB of UTF-16, safely inside the 1 MiB entity limit together with the other properties. */
const maxChunks = 12;
const maxReasonChars = 8_000;
/**
 * Location properties (study, series, instance, tag) come from data: a 40,000-character UID must not make the
 * record itself fail (a table property holds 32 Ki characters). Real values are at most 64 characters.
 */
const maxLocationChars = 256;
const maxTime = 8_640_000_000_000_000;

/** Inverted milliseconds, zero-padded, so the lexical order of row keys is newest first; a random tail keeps them unique. */
function rowKeyFor(time: number): string {
  return `${String(maxTime - time).padStart(16, '0')}-${randomBytes(6).toString('hex')}`;
}

/** The smallest row key a record at `time` can have: rows at or after `time` sort at or below the next one. */
function rowKeyBound(time: number): string {
  return `${String(maxTime - time).padStart(16, '0')}-~`;
}

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/**
 * JSON with every non-ASCII character escaped. Azurite was seen to garble multi-byte UTF-8 characters in large
 * entity bodies; ASCII text is immune, and JSON.parse restores the characters.
 */
function asciiJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function payloadProperties(payload: unknown): Record<string, unknown> {
  if (payload === undefined) return {};
  const json = asciiJson(payload);
  const kept = json.slice(0, chunkChars * maxChunks);
  const properties: Record<string, unknown> = {};
  for (let index = 0; index * chunkChars < kept.length; index++) {
    properties[index === 0 ? 'payload' : `payload${index}`] = kept.slice(index * chunkChars, (index + 1) * chunkChars);
  }
  if (kept.length < json.length) properties.payloadTruncated = true;
  return properties;
}

function readPayload(entity: Record<string, unknown>): { payload?: unknown; payloadTruncated?: boolean } {
  if (typeof entity.payload !== 'string') return {};
  let text = entity.payload;
  for (let index = 1; typeof entity[`payload${index}`] === 'string'; index++)
    text += entity[`payload${index}`] as string;
  if (entity.payloadTruncated === true) return { payload: text, payloadTruncated: true };
  try {
    return { payload: JSON.parse(text) as unknown };
  } catch {
    return { payload: text, payloadTruncated: true };
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function toRecord(entity: Record<string, unknown>): FailureRecord {
  const record: FailureRecord = {
    id: String(entity.rowKey),
    occurredAt: String(entity.occurredAt),
    category: entity.category as ErrorCategory,
    reason: typeof entity.reason === 'string' ? entity.reason : '',
  };
  for (const key of ['study', 'series', 'instance', 'tag'] as const) {
    const value = optionalString(entity[key]);
    if (value !== undefined) record[key] = value;
  }
  for (const key of ['sequence', 'attempts'] as const) {
    const value = optionalNumber(entity[key]);
    if (value !== undefined) record[key] = value;
  }
  return { ...record, ...readPayload(entity) };
}

export function createFailureStore(table: TableClient, clock: () => number = Date.now): FailureStore {
  const failed = (action: string, error: unknown) =>
    new RetryableError(
      `${action} failure records in ${table.tableName} failed: ${describeStorageError(error)}`,
      'transient',
      {},
      { cause: error },
    );

  return {
    async record(failure) {
      const time = clock();
      const entity: Entity = {
        partitionKey,
        rowKey: rowKeyFor(time),
        occurredAt: new Date(time).toISOString(),
        category: failure.category,
        reason: capText(failure.reason, maxReasonChars),
      };
      for (const key of ['study', 'series', 'instance', 'tag'] as const) {
        const value = failure[key];
        if (value !== undefined) entity[key] = capText(value, maxLocationChars);
      }
      for (const key of ['sequence', 'attempts'] as const) {
        const value = failure[key];
        if (value !== undefined && Number.isFinite(value)) entity[key] = value;
      }
      Object.assign(entity, payloadProperties(failure.payload));
      try {
        await table.createEntity(entity);
      } catch (error) {
        throw failed('Writing', error);
      }
      return toRecord(entity);
    },

    async list(options = {}) {
      const limit = options.limit ?? 100;
      const filter = options.since
        ? odata`PartitionKey eq ${partitionKey} and RowKey le ${rowKeyBound(options.since.getTime())}`
        : odata`PartitionKey eq ${partitionKey}`;
      const records: FailureRecord[] = [];
      if (limit <= 0) return records;
      try {
        for await (const page of table
          .listEntities({ queryOptions: { filter } })
          .byPage({ maxPageSize: Math.min(limit, 1000) })) {
          for (const entity of page) {
            records.push(toRecord(entity));
            if (records.length >= limit) return records;
          }
        }
      } catch (error) {
        throw failed('Listing', error);
      }
      return records;
    },

    async remove(id) {
      try {
        await table.deleteEntity(partitionKey, id);
      } catch (error) {
        if (httpStatusOf(error) === 404) return;
        throw failed('Deleting', error);
      }
    },
  };
}
