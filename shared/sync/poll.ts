// The poller's run in one file (a little over 300 lines): paging, the checks that keep a row from moving the position
// (window, latest, order), gap walking and the guarded checkpoint all share the run's state.
import { addStudyChanges, studyChangeMessages, type ChangeSource } from '../changes/changeSource.js';
import type { ChangeFeedClient, ChangeFeedVersion } from '../dicomweb/changeFeedClient.js';
import type { ChangeFeedEntry } from '../dicomweb/changeFeedEntry.js';
import { isBadRow, misplaced, type BadChangeFeedRow, type ChangeFeedRow } from '../dicomweb/changeFeedRow.js';
import { NonRetryableError } from '../errors/errors.js';
import { buildStudyMessages } from '../queue/buildStudyMessages.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { encodeStudyMessage } from '../queue/studyMessageCodec.js';
import type { Checkpoint, CheckpointStore } from '../state/checkpointStore.js';
import type { FailureStore } from '../state/failureStore.js';
import type { PollTracing } from '../telemetry/telemetry.js';

export type PollLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type PollLog = (level: PollLogLevel, message: string, props?: Record<string, unknown>) => void;

export interface PollDependencies {
  feed: Pick<ChangeFeedClient, 'latest' | 'readV1' | 'readV2'>;
  checkpoints: CheckpointStore;
  queue: MessageQueue;
  failures: FailureStore;
  /** Milliseconds; only differences are used. */
  now: () => number;
  log?: PollLog;
  /** Telemetry: gives each study message its own trace context (traceparent) before it is sent. */
  tracing?: PollTracing;
  /** Another archive's change log (Orthanc): read instead of `feed`, with a v1-style sequence checkpoint. */
  source?: ChangeSource;
}

export interface PollOptions {
  version: ChangeFeedVersion;
  /** Rows per request (v1: the sequence window width). */
  pageSize: number;
  /** The run stops reading before this much time has passed; the next run carries on. */
  maxRunMs: number;
  /** Entries gathered before they are enqueued and the checkpoint moves (default 5000). */
  flushEveryEntries?: number;
  traceparent?: string;
  /** Follow one data partition only: entries of other partitions are read past, not enqueued. */
  partition?: string;
  /**
   * v1: empty sequence windows stepped through per run, in all (default 500: 50,000 sequences at 100 per page).
   * A `latest` far beyond the real rows (a hostile or broken server) then costs a bounded number of requests per
   * timer tick, with a warning, instead of hundreds of thousands a minute.
   */
  maxGapWindowsPerRun?: number;
}

export const defaultMaxGapWindowsPerRun = 500;

export interface PollResult {
  /** Rows read, bad ones included. */
  entriesRead: number;
  messagesEnqueued: number;
  /** Study messages built (before splitting into parts). */
  studies: number;
  badEntries: number;
  /** The feed had nothing more to give; false when the time budget ran out first. */
  caughtUp: boolean;
  /** Another poller moved the checkpoint first; this run stopped without moving it. */
  lostRace: boolean;
  /** The checkpoint as this run last read or wrote it. */
  checkpoint?: Checkpoint;
  /** The newest sequence the feed reported (asked when a gap is met or a row lies beyond what was known). */
  latestSequence?: number;
  /** v1: the run stopped at maxGapWindowsPerRun empty windows; the next timer run carries on (caughtUp is true). */
  gapWalkCapped?: boolean;
}

const epoch = '1970-01-01T00:00:00Z';

type V2Checkpoint = Extract<Checkpoint, { version: 'v2' }>;

function sameCheckpoint(a: Checkpoint | undefined, b: Checkpoint): boolean {
  if (!a || a.version !== b.version || a.sequence !== b.sequence) return false;
  return a.version === 'v1' || b.version === 'v1' || (a.timestamp === b.timestamp && a.offset === b.offset);
}

/**
 * Where to start reading. A checkpoint written by the other API version is converted: v2 → v1 resumes at its
 * sequence; v1 → v2 has no timestamp, so it reads from the start and drops rows at or below the old sequence.
 */
function startPosition(
  version: ChangeFeedVersion,
  stored: Checkpoint | undefined,
): { position: Checkpoint; skipThroughSequence: number } {
  if (version === 'v1') return { position: { version, sequence: stored?.sequence ?? 0 }, skipThroughSequence: -1 };
  if (stored?.version === 'v2') return { position: { ...stored }, skipThroughSequence: -1 };
  const sequence = stored?.sequence ?? 0;
  return {
    position: { version: 'v2', timestamp: epoch, offset: 0, sequence },
    skipThroughSequence: stored ? sequence : -1,
  };
}

/**
 * v2 position after one more row: rows at the same timestamp are counted, a new timestamp restarts the count.
 * A row whose timestamp could not be read is counted where it stands: it sorts at or after the current timestamp,
 * so skipping that many rows from the current timestamp still lands just after it.
 */
function afterV2Row(position: V2Checkpoint, row: ChangeFeedRow): V2Checkpoint {
  const sequence = Math.max(position.sequence, row.sequence ?? 0);
  if (row.timestamp !== undefined && row.timestamp !== position.timestamp) {
    return { version: 'v2', timestamp: row.timestamp, offset: 1, sequence };
  }
  return { ...position, offset: position.offset + 1, sequence };
}

function describeBadRow(row: BadChangeFeedRow): string {
  const sequence = row.sequence ?? row.reportedSequence;
  const which = sequence !== undefined ? `sequence ${sequence}` : 'with no readable sequence';
  return `Change feed entry ${which} skipped: ${row.reason}`;
}

/**
 * One poller run: read the change feed from the checkpoint, turn entries into study messages, enqueue them and
 * only then move the checkpoint (at-least-once). The checkpoint write is guarded by the ETag read at the start
 * (and by each write's new ETag after that): if another poller moved it, this run stops without writing.
 */
export async function pollChangeFeed(deps: PollDependencies, options: PollOptions): Promise<PollResult> {
  const { feed, checkpoints, queue, failures, now } = deps;
  const log: PollLog = deps.log ?? (() => undefined);
  const flushEvery = Math.max(1, options.flushEveryEntries ?? 5000);
  const startedAt = now();
  const result: PollResult = {
    entriesRead: 0,
    messagesEnqueued: 0,
    studies: 0,
    badEntries: 0,
    caughtUp: false,
    lostRace: false,
  };

  const stored = await checkpoints.read();
  let etag = stored?.etag;
  let committed = stored?.checkpoint;
  if (committed) result.checkpoint = committed;
  const start = startPosition(options.version, committed);
  let position = start.position;
  if (committed && committed.version !== options.version) {
    log('warn', `Checkpoint was written by change feed ${committed.version}; continuing with ${options.version}`, {
      checkpoint: committed,
    });
  }
  let pending: ChangeFeedEntry[] = [];
  /** Studies a change source named (study → newest sequence). */
  let pendingStudies = new Map<string, number>();

  /** Queue texts of the messages; one that cannot be a queue message is recorded instead of stalling every run. */
  const encodeOrRecord = async (messages: readonly StudyMessage[]): Promise<string[]> => {
    const texts: string[] = [];
    for (const message of messages) {
      try {
        texts.push(encodeStudyMessage(message));
      } catch (error) {
        if (!(error instanceof NonRetryableError)) throw error;
        result.badEntries++;
        log('warn', error.message, { sequence: message.maxSequence });
        await failures.record({
          category: error.category,
          reason: error.message,
          ...(error.location.study ? { study: error.location.study } : {}),
          sequence: message.maxSequence,
          payload: { ...message, changes: message.changes.slice(0, 100) },
        });
      }
    }
    return texts;
  };

  /** Enqueue what was gathered, then move the checkpoint. False when another poller got there first. */
  const flush = async (): Promise<boolean> => {
    if (pending.length === 0 && pendingStudies.size === 0 && sameCheckpoint(committed ?? start.position, position)) {
      return true;
    }
    const built = [
      ...buildStudyMessages(pending, options.traceparent),
      ...studyChangeMessages(pendingStudies, options.traceparent),
    ];
    const traced = deps.tracing?.beforeSend(built, pending);
    const messages = traced?.messages ?? built;
    let texts: string[];
    try {
      texts = await encodeOrRecord(messages);
      await queue.send(texts);
    } catch (error) {
      traced?.settled(error);
      throw error;
    }
    traced?.settled(undefined, texts.length);
    result.messagesEnqueued += texts.length;
    result.studies += messages.length;
    const target = position;
    const outcome = await checkpoints.write(target, etag);
    if (outcome.outcome === 'conflict') {
      result.lostRace = true;
      log('warn', 'Another poller moved the checkpoint first; stopping this run', { checkpoint: target });
      return false;
    }
    log('debug', 'Checkpoint moved', { checkpoint: target, entries: pending.length, messages: texts.length });
    etag = outcome.etag;
    committed = target;
    result.checkpoint = target;
    pending = [];
    pendingStudies = new Map();
    return true;
  };

  const take = async (row: ChangeFeedRow): Promise<void> => {
    result.entriesRead++;
    if (isBadRow(row)) {
      result.badEntries++;
      const reason = describeBadRow(row);
      const sequence = row.sequence ?? row.reportedSequence;
      log('warn', reason, { sequence });
      await failures.record({
        category: 'bad-change-feed-entry',
        reason,
        ...(row.study ? { study: row.study } : {}),
        ...(row.series ? { series: row.series } : {}),
        ...(row.instance ? { instance: row.instance } : {}),
        ...(sequence !== undefined ? { sequence } : {}),
        payload: row.raw,
      });
      return;
    }
    if (row.sequence <= start.skipThroughSequence) return;
    if (options.partition !== undefined && (row.partitionName ?? '') !== options.partition) return;
    pending.push(row);
  };

  const maxGapWindows = Math.max(1, options.maxGapWindowsPerRun ?? defaultMaxGapWindowsPerRun);
  let emptyWindows = 0;
  let gapStart = 0;

  /**
   * The rows of a page that may move the position; the others become bad rows. A sequence above the newest the
   * feed reports (asked again when a row goes beyond what was known) would carry the checkpoint past real rows.
   */
  const checkedRows = async (
    rows: ChangeFeedRow[],
    misplacedBecause: (row: { sequence: number }) => string | undefined = () => undefined,
  ): Promise<ChangeFeedRow[]> => {
    const highest = Math.max(-1, ...rows.map((row) => row.sequence ?? -1));
    if (highest > (result.latestSequence ?? -1)) result.latestSequence = (await feed.latest())?.sequence ?? 0;
    const latest = result.latestSequence ?? 0;
    return rows.map((row) => {
      if (row.sequence === undefined) return row;
      const reason =
        misplacedBecause({
          sequence: row.sequence,
          ...(row.timestamp !== undefined ? { timestamp: row.timestamp } : {}),
        }) ?? (row.sequence > latest ? `Sequence ${row.sequence} is above the feed's latest (${latest})` : undefined);
      return reason === undefined ? row : misplaced(row, reason);
    });
  };

  /** Reads one page and moves `position` past it; true when the feed has nothing more. */
  const readPage = async (): Promise<boolean> => {
    if (deps.source) {
      const page = await deps.source.readPage(position, options.pageSize);
      result.entriesRead += page.rowsRead;
      for (const bad of page.badRows ?? []) {
        result.badEntries++;
        log('warn', bad.reason, { sequence: bad.sequence });
        await failures.record({
          category: 'bad-change-feed-entry',
          reason: bad.reason,
          ...(bad.sequence !== undefined ? { sequence: bad.sequence } : {}),
          payload: bad.raw,
        });
      }
      addStudyChanges(pendingStudies, page.studies);
      position = page.position;
      return page.done;
    }
    if (position.version === 'v2') {
      let v2: V2Checkpoint = position;
      const rows = await checkedRows(await feed.readV2(v2.timestamp, v2.offset, options.pageSize));
      for (const row of rows) {
        // Rows come in timestamp order; one earlier than where the reader stands would move the position back.
        const earlier = row.timestamp !== undefined && Date.parse(row.timestamp) < Date.parse(v2.timestamp);
        const usable = earlier
          ? misplaced(row, `Timestamp ${row.timestamp} is earlier than the rows before it (${v2.timestamp})`)
          : row;
        await take(usable);
        v2 = afterV2Row(v2, usable);
        position = v2;
      }
      return rows.length < options.pageSize;
    }

    const from = position.sequence;
    const to = from + options.pageSize;
    const rows = await checkedRows(await feed.readV1(from, options.pageSize), (row) =>
      row.sequence <= from || row.sequence > to
        ? `Sequence ${row.sequence} lies outside the window asked for (${from}, ${to}]`
        : undefined,
    );
    if (rows.length > 0) {
      let readable = false;
      for (const row of rows) {
        await take(row);
        if (row.sequence !== undefined) {
          readable = true;
          position = { version: 'v1', sequence: Math.max(position.sequence, row.sequence) };
        }
      }
      // Rows whose sequence could not be used still lie inside the window: step over it rather than read it again.
      if (!readable) position = { version: 'v1', sequence: to };
      return false;
    }
    // An empty window is a gap unless the feed ends here; the documented way through is to step by the window width.
    // The newest sequence is asked again only when the step could reach it, which halves the requests across a gap.
    if (result.latestSequence === undefined || from + options.pageSize >= result.latestSequence - 1) {
      result.latestSequence = (await feed.latest())?.sequence ?? 0;
    }
    // Never step past the newest row itself: it may have been written after the window was read.
    const next = Math.min(to, result.latestSequence - 1);
    if (next <= from) return true;
    position = { version: 'v1', sequence: next };
    if (++emptyWindows >= maxGapWindows) {
      result.gapWalkCapped = true;
      log('warn', `Change-feed gap: ${emptyWindows} empty windows this run; the next run carries on`, {
        from: gapStart,
        reached: next,
        latest: result.latestSequence,
      });
      return true;
    }
    if (emptyWindows === 1) gapStart = from;
    return false;
  };

  let slowestPageMs = 0;
  for (;;) {
    // Read another page only if it fits in the budget at the slowest pace seen so far (flushes included).
    if (now() - startedAt + slowestPageMs >= options.maxRunMs) break;
    const pageStartedAt = now();
    const done = await readPage();
    if (pending.length + pendingStudies.size >= flushEvery && !(await flush())) return result;
    slowestPageMs = Math.max(slowestPageMs, now() - pageStartedAt);
    if (done) {
      result.caughtUp = true;
      break;
    }
  }
  await flush();
  return result;
}
