import type { TableClient } from '@azure/data-tables';
import type { AxiosInstance } from 'axios';
import { dicomWebApiVersionOf, dicomWebPath, type DicomWebApiVersion } from '../dicomweb/apiVersion.js';
import { getString, Tag, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import { encodeStudyMessage } from '../queue/studyMessageCodec.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkpointRowKey } from '../state/checkpointStore.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { describeStorageError } from '../state/storageClients.js';

/**
 * The message that makes the writer reconcile one study from what the DICOM server holds now. The writer accepts
 * `changes: []`: it reads the study's metadata whatever the message lists, writes FHIR to match, and deletes an
 * ImagingStudy it owns when the study is gone. `maxSequence` 0 marks a message that no change-feed row produced.
 */
export function reconcileMessage(study: string, partition?: string): StudyMessage {
  return { study, ...(partition ? { partition } : {}), changes: [], maxSequence: 0 };
}

/** `2024-03-01`, `20240301` or an ISO date-time → the DICOM date `20240301`. */
export function dicomDateOf(text: string): string {
  const trimmed = text.trim();
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(trimmed);
  if (compact) return trimmed;
  const time = Date.parse(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed) || Number.isNaN(time)) {
    throw new Error(`"${text}" is not a date (use YYYY-MM-DD)`);
  }
  return trimmed.slice(0, 10).replaceAll('-', '');
}

export interface QidoPage {
  studies: string[];
  /** Entries returned, including any without a Study Instance UID. */
  returned: number;
}

/** One page of QIDO-RS `GET {version}/studies?limit&offset[&StudyDate=<from>-]`. */
export async function searchStudies(
  http: AxiosInstance,
  version: DicomWebApiVersion,
  query: { limit: number; offset: number; studyDateFrom?: string },
): Promise<QidoPage> {
  const path = dicomWebPath(version, 'studies');
  const params: Record<string, string | number> = {
    limit: query.limit,
    offset: query.offset,
    includefield: 'StudyInstanceUID',
    ...(query.studyDateFrom ? { StudyDate: `${query.studyDateFrom}-` } : {}),
  };
  const response = await http.get<unknown>(path, {
    params,
    headers: { Accept: 'application/dicom+json' },
    responseType: 'json',
  });
  if (response.status === 204) return { studies: [], returned: 0 };
  if (response.status !== 200) throw new Error(`QIDO-RS GET ${path} answered HTTP ${response.status}`);
  const body: unknown = typeof response.data === 'string' && response.data.trim() === '' ? [] : response.data;
  if (!Array.isArray(body)) throw new Error(`QIDO-RS GET ${path} returned a body that is not a JSON array`);
  const studies = (body as DicomJsonDataset[])
    .map((dataset) => getString(dataset, Tag.StudyInstanceUID))
    .filter((uid): uid is string => typeof uid === 'string' && uid !== '');
  return { studies, returned: body.length };
}

/** Where a resync --all has got to: saved after each page, so a stopped run picks up there. */
export interface ResyncCursor {
  offset: number;
  enqueued: number;
  startedAt: string;
  updatedAt: string;
  studyDateFrom?: string;
}

const cursorPartition = 'resync';

/**
 * The cursor lives in the checkpoint table beside the change-feed checkpoint: partition `resync`, row key the
 * DICOM endpoint plus the scope (`all` or `since-YYYYMMDD`), so runs with different --since keep apart.
 */
export function createResyncCursorStore(table: TableClient, endpoint: string, studyDateFrom?: string) {
  const rowKey = `${checkpointRowKey({ endpoint })}${encodeURIComponent(`|${studyDateFrom ? `since-${studyDateFrom}` : 'all'}`)}`;
  return {
    rowKey,
    async read(): Promise<ResyncCursor | undefined> {
      try {
        const entity = await table.getEntity<Record<string, unknown>>(cursorPartition, rowKey);
        const offset = entity.offset;
        if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
        return {
          offset,
          enqueued: typeof entity.enqueued === 'number' ? entity.enqueued : 0,
          startedAt: String(entity.startedAt),
          updatedAt: String(entity.updatedAt),
          ...(typeof entity.studyDateFrom === 'string' ? { studyDateFrom: entity.studyDateFrom } : {}),
        };
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw new Error(`Reading the resync cursor failed: ${describeStorageError(error)}`, { cause: error });
      }
    },
    async write(cursor: ResyncCursor): Promise<void> {
      try {
        await table.upsertEntity({ partitionKey: cursorPartition, rowKey, endpoint, ...cursor }, 'Replace');
      } catch (error) {
        throw new Error(`Saving the resync cursor failed: ${describeStorageError(error)}`, { cause: error });
      }
    },
    async clear(): Promise<void> {
      try {
        await table.deleteEntity(cursorPartition, rowKey);
      } catch (error) {
        if (httpStatusOf(error) === 404) return;
        throw new Error(`Clearing the resync cursor failed: ${describeStorageError(error)}`, { cause: error });
      }
    },
  };
}

export interface ResyncProgress {
  /** QIDO offset of the next page. */
  offset: number;
  /** Study messages enqueued, counting those of the run that was resumed. */
  enqueued: number;
  /** Pages read by this run. */
  pages: number;
  /** Set when this run resumed a stopped one, at that offset. */
  resumedFrom?: number;
}

export interface ResyncResult extends ResyncProgress {
  /** True when the walk reached the last study (the cursor is then removed). */
  complete: boolean;
}

export interface ResyncOptions {
  /** Only studies with StudyDate on or after this date (YYYY-MM-DD). */
  since?: string;
  /** Studies per QIDO-RS page (1-200, default 100). */
  pageSize?: number;
  /** Ignore a saved cursor and start from the first study. */
  restart?: boolean;
  /** Stop after this many pages; the cursor stays, and the next run resumes. */
  maxPages?: number;
  /** Stop after the current page (Ctrl-C); the cursor stays. */
  signal?: AbortSignal;
  onProgress?: (progress: ResyncProgress) => void;
  now?: () => Date;
}

export type ResyncSources = Pick<Runtime, 'config' | 'dicomHttp' | 'studyQueue' | 'checkpointTable'>;

/**
 * Walks every study of the DICOM server with QIDO-RS, page by page, and enqueues a reconcile message per study;
 * the writers then bring FHIR in line (missing ImagingStudy resources are created, stale ones updated).
 * Resumable: the offset is saved after each page's messages are on the queue, so a stopped run re-enqueues at most
 * one page (harmless: the writer is idempotent). Offsets shift if studies are added or deleted meanwhile; a study
 * stored during the walk reaches FHIR through the change feed anyway.
 */
export async function resyncAll(runtime: ResyncSources, options: ResyncOptions = {}): Promise<ResyncResult> {
  const pageSize = Math.min(200, Math.max(1, options.pageSize ?? 100));
  const now = options.now ?? (() => new Date());
  const studyDateFrom = options.since ? dicomDateOf(options.since) : undefined;
  const cursors = createResyncCursorStore(runtime.checkpointTable, runtime.config.dicomWeb.endpoint, studyDateFrom);
  const saved = options.restart ? undefined : await cursors.read();
  const startedAt = saved?.startedAt ?? now().toISOString();
  const progress: ResyncProgress = {
    offset: saved?.offset ?? 0,
    enqueued: saved?.enqueued ?? 0,
    pages: 0,
    ...(saved ? { resumedFrom: saved.offset } : {}),
  };
  const version = dicomWebApiVersionOf(runtime.config);
  const saveCursor = () =>
    cursors.write({
      offset: progress.offset,
      enqueued: progress.enqueued,
      startedAt,
      updatedAt: now().toISOString(),
      ...(studyDateFrom ? { studyDateFrom } : {}),
    });
  for (;;) {
    if (options.signal?.aborted || (options.maxPages !== undefined && progress.pages >= options.maxPages)) {
      await saveCursor();
      return { ...progress, complete: false };
    }
    const page = await searchStudies(runtime.dicomHttp, version, {
      limit: pageSize,
      offset: progress.offset,
      ...(studyDateFrom ? { studyDateFrom } : {}),
    });
    await enqueueStudies(runtime.studyQueue, page.studies);
    progress.offset += page.returned;
    progress.enqueued += page.studies.length;
    progress.pages++;
    if (page.returned < pageSize) {
      await cursors.clear();
      options.onProgress?.({ ...progress });
      return { ...progress, complete: true };
    }
    await saveCursor();
    options.onProgress?.({ ...progress });
  }
}

/** Enqueues a reconcile message for each study. */
export async function enqueueStudies(queue: MessageQueue, studies: readonly string[]): Promise<void> {
  await queue.send(studies.map((study) => encodeStudyMessage(reconcileMessage(study))));
}
