import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { RetryableError } from '../errors/errors.js';
import type { TagIssue } from '../mapping/index.js';
import { capText, describeStorageError } from './storageClients.js';

/**
 * A tag warning as kept for people: an invalid optional value that the mapping skipped, per study and tag, with the
 * values seen and where. One row per (study, tag), rewritten by each sync that still finds the problem, so a study
 * synced a thousand times with the same bad value has one row; `lastSeenAt` tells a fixed problem from a current one.
 */
export interface TagWarningRecord {
  study: string;
  tag: string;
  keyword: string;
  reason: string;
  /** Distinct values seen (at most 10), so the record names what was wrong. */
  values: string[];
  /** How many instances carried the problem; `instance` and `series` name one of them. */
  instances: number;
  instance?: string;
  series?: string;
  lastSeenAt: string;
}

export interface TagWarningStore {
  /** Records the warnings of one sync of a study (nothing to write when there are none). */
  record(study: string, warnings: readonly TagIssue[]): Promise<void>;
  list(options?: { study?: string; limit?: number }): Promise<TagWarningRecord[]>;
}

/** Kept in the failure table, in its own partition, so `failures list` and replay never see them. */
const partitionKey = 'tag-warning';
const maxValues = 10;

function rowKeyOf(study: string, tag: string): string {
  return `${createHash('sha256').update(study).digest('hex').slice(0, 32)}-${tag.replace(/[^0-9A-Fa-f]/g, '')}`;
}

function studyPrefix(study: string): string {
  return createHash('sha256').update(study).digest('hex').slice(0, 32);
}

/**
 * Values come from data: a 40,000-character value must not make the write fail (a property holds 32 Ki characters,
 * and the ten values share one). Cut values say how long they were.
 */
const maxValueChars = 256;
const maxReasonChars = 2_000;

function clip(value: string, max = maxValueChars): string {
  return capText(value, max);
}

export function createTagWarningStore(table: TableClient, clock: () => number = Date.now): TagWarningStore {
  const failed = (what: string, error: unknown) =>
    new RetryableError(
      `${what} tag warnings failed: ${describeStorageError(error)}`,
      'transient',
      {},
      { cause: error },
    );

  return {
    async record(study, warnings) {
      const byTag = new Map<string, TagIssue[]>();
      for (const warning of warnings) byTag.set(warning.tag, [...(byTag.get(warning.tag) ?? []), warning]);
      const lastSeenAt = new Date(clock()).toISOString();
      try {
        for (const [tag, issues] of byTag) {
          const first = issues[0] as TagIssue;
          const values = [...new Set(issues.flatMap((issue) => (issue.value === undefined ? [] : [issue.value])))];
          await table.upsertEntity(
            {
              partitionKey,
              rowKey: rowKeyOf(study, tag),
              study: clip(study),
              tag: clip(tag),
              keyword: clip(first.keyword),
              reason: clip(first.reason, maxReasonChars),
              values: JSON.stringify(values.slice(0, maxValues).map((value) => clip(value))),
              instances: new Set(issues.map((issue) => issue.instance)).size,
              ...(first.instance ? { instance: clip(first.instance) } : {}),
              ...(first.series ? { series: clip(first.series) } : {}),
              lastSeenAt,
            },
            'Replace',
          );
        }
      } catch (error) {
        throw failed('Writing', error);
      }
    },

    async list(options = {}) {
      const limit = options.limit ?? 100;
      const filter = options.study
        ? odata`PartitionKey eq ${partitionKey} and RowKey ge ${studyPrefix(options.study)} and RowKey lt ${`${studyPrefix(options.study)}~`}`
        : odata`PartitionKey eq ${partitionKey}`;
      const records: TagWarningRecord[] = [];
      try {
        for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
          records.push({
            study: String(entity.study),
            tag: String(entity.tag),
            keyword: String(entity.keyword),
            reason: String(entity.reason),
            values: typeof entity.values === 'string' ? (JSON.parse(entity.values) as string[]) : [],
            instances: Number(entity.instances ?? 0),
            ...(typeof entity.instance === 'string' ? { instance: entity.instance } : {}),
            ...(typeof entity.series === 'string' ? { series: entity.series } : {}),
            lastSeenAt: String(entity.lastSeenAt),
          });
          if (records.length >= limit) break;
        }
      } catch (error) {
        throw failed('Reading', error);
      }
      return records.sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
    },
  };
}
