import type { QueueClient } from '@azure/storage-queue';
import { maxDequeueCount } from '../handlers/studyMessageHandler.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Checkpoint } from '../state/checkpointStore.js';
import type { FailureRecord } from '../state/failureStore.js';
import { httpStatusOf } from '../lib/errorDetails.js';
import { measureLag } from './lag.js';
import { measureOrthancLag } from './orthancLag.js';

/** What `GET /api/status` and `dicom-cast status` report. */
export interface SyncStatus {
  generatedAt: string;
  changeFeed: {
    version: 'v1' | 'v2';
    /** Where the poller has read to; undefined before the first poll. */
    checkpoint?: Checkpoint;
    /** The newest entry of the feed; undefined when the feed is empty. */
    latest?: { sequence: number; timestamp?: string };
    lag: { sequences: number; seconds?: number };
  };
  /** Approximate message counts (Storage's own figure). */
  queues: { studies: number; poison: number; continuation: number };
  failures: {
    /** Start of the window (24 h before generatedAt by default). */
    since: string;
    total: number;
    byCategory: Record<string, number>;
    /**
     * Records written on a message's last attempt, just before the host moved it to the poison queue
     * (or by the poison function when the writer could not record it). Counted in byCategory too.
     */
    poisoned: number;
    /** False when there were more records than were counted (maxFailures). */
    complete: boolean;
  };
}

export type StatusSources = Pick<Runtime, 'config' | 'changeFeed' | 'checkpoints' | 'failures' | 'queueClients'> &
  Partial<Pick<Runtime, 'orthanc'>>;

export interface StatusOptions {
  now?: Date;
  /** Hours of failure records counted (default 24). */
  failureWindowHours?: number;
  /** At most this many failure records are read (default 10,000). */
  maxFailures?: number;
}

/** A record written for a message that went to the poison queue (by the writer's last attempt or the poison function). */
export function isPoisonRecord(record: Pick<FailureRecord, 'attempts' | 'reason'>): boolean {
  return (record.attempts ?? 0) >= maxDequeueCount && /poison queue/i.test(record.reason);
}

/** A queue that does not exist yet holds nothing. */
export async function queueDepth(queue: QueueClient): Promise<number> {
  try {
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  } catch (error) {
    if (httpStatusOf(error) === 404) return 0;
    throw error;
  }
}

/** Checkpoint, newest change-feed entry, lag, queue depths and recent failures by category, read in parallel. */
export async function readStatus(runtime: StatusSources, options: StatusOptions = {}): Promise<SyncStatus> {
  const now = options.now ?? new Date();
  const since = new Date(now.getTime() - (options.failureWindowHours ?? 24) * 3_600_000);
  const maxFailures = options.maxFailures ?? 10_000;

  const [stored, studies, poison, continuation, records] = await Promise.all([
    runtime.checkpoints.read(),
    queueDepth(runtime.queueClients.studies),
    queueDepth(runtime.queueClients.poison),
    queueDepth(runtime.queueClients.continuation),
    runtime.failures.list({ since, limit: maxFailures + 1 }),
  ]);
  const checkpoint = stored?.checkpoint;
  const lag = runtime.orthanc
    ? await measureOrthancLag(runtime.orthanc.client, checkpoint)
    : await measureLag(runtime.changeFeed, checkpoint);

  const counted = records.slice(0, maxFailures);
  const byCategory: Record<string, number> = {};
  let poisoned = 0;
  for (const record of counted) {
    byCategory[record.category] = (byCategory[record.category] ?? 0) + 1;
    if (isPoisonRecord(record)) poisoned++;
  }
  return {
    generatedAt: now.toISOString(),
    changeFeed: {
      version: runtime.config.dicomWeb.changeFeed.version,
      ...(checkpoint ? { checkpoint } : {}),
      ...(lag.latest ? { latest: lag.latest } : {}),
      lag: { sequences: lag.sequences, ...(lag.seconds !== undefined ? { seconds: lag.seconds } : {}) },
    },
    queues: { studies, poison, continuation },
    failures: {
      since: since.toISOString(),
      total: counted.length,
      byCategory,
      poisoned,
      complete: records.length <= maxFailures,
    },
  };
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

function describeCheckpoint(checkpoint: Checkpoint | undefined): string {
  if (!checkpoint) return 'none yet (the poller has not run)';
  if (checkpoint.version === 'v1') return `sequence ${checkpoint.sequence} (v1)`;
  return `sequence ${checkpoint.sequence} (v2, ${checkpoint.timestamp}, offset ${checkpoint.offset})`;
}

function describeSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3_600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** The status as a person reads it (the CLI). */
export function formatStatus(status: SyncStatus): string {
  const { changeFeed, queues, failures } = status;
  const latest = changeFeed.latest
    ? `sequence ${changeFeed.latest.sequence}${changeFeed.latest.timestamp ? ` at ${changeFeed.latest.timestamp}` : ''}`
    : 'the change feed is empty';
  const lag =
    changeFeed.lag.sequences === 0
      ? 'caught up'
      : `${plural(changeFeed.lag.sequences, 'entry', 'entries')} behind` +
        (changeFeed.lag.seconds !== undefined ? `, ${describeSeconds(changeFeed.lag.seconds)} of feed time` : '');
  const categories = Object.entries(failures.byCategory)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([category, count]) => `${category} ${count}`)
    .join(', ');
  const failureLine =
    failures.total === 0
      ? 'none'
      : `${failures.complete ? '' : 'at least '}${failures.total}` +
        ` (${categories})${failures.poisoned > 0 ? `; ${failures.poisoned} gave up and went to the poison queue` : ''}`;
  const rows: [string, string][] = [
    ['Checkpoint', describeCheckpoint(changeFeed.checkpoint)],
    ['Latest entry', latest],
    ['Lag', lag],
    ['Queues', `studies ${queues.studies}, poison ${queues.poison}, continuation ${queues.continuation} (approximate)`],
    [`Failures since ${failures.since}`, failureLine],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
