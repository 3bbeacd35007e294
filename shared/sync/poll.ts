import type { Tracer } from '@opentelemetry/api';
import { addStudyChanges, studyChangeMessages, type ChangeSource } from '../changes/changeSource.js';
import type { ChangeFeedClient, ChangeFeedVersion } from '../dicomweb/changeFeedClient.js';
import type { ChangeFeedEntry } from '../dicomweb/changeFeedEntry.js';
import { isBadRow, misplaced, type ChangeFeedRow } from '../dicomweb/changeFeedRow.js';
import { NonRetryableError } from '../errors/errors.js';
import type { Log } from '../logging/log.js';
import { buildStudyMessages } from '../queue/buildStudyMessages.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { encodeStudyMessage } from '../queue/studyMessageCodec.js';
import type { Checkpoint, CheckpointStore } from '../state/checkpointStore.js';
import type { Failure } from '../errors/errors.js';
import type { FailureStore } from '../state/failureStore.js';
import { startEnqueueSpans } from './enqueueSpans.js';
import { badRowFailure, badSourceRowFailure, unencodableMessageFailure } from './pollFailures.js';
import { afterV2Row, sameCheckpoint, startPosition, type V2Checkpoint } from './pollPosition.js';

/** Where the poll reports what it does: a span per study message (from `tracer`), the messages each flush enqueued. */
export interface PollTelemetry {
  readonly tracer: Tracer;
  recordMessagesEnqueued(count: number): void;
}

export interface PollDependencies {
  feed: Pick<ChangeFeedClient, 'latest' | 'readV1' | 'readV2'>;
  checkpoints: CheckpointStore;
  queue: MessageQueue;
  failures: FailureStore;
  /** Milliseconds; only differences are used. */
  now: () => number;
  log?: Log;
  telemetry?: PollTelemetry;
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
  /** Study messages put on the queue: one per changed study. */
  messagesEnqueued: number;
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

/**
 * One poller run: read the change feed from the checkpoint, turn entries into study messages, enqueue them and
 * only then move the checkpoint (at-least-once). The checkpoint write is guarded by the ETag read at the start
 * (and by each write's new ETag after that): if another poller moved it, this run stops without writing.
 */
export async function pollChangeFeed(deps: PollDependencies, options: PollOptions): Promise<PollResult> {
  const { feed, checkpoints, queue, failures, now } = deps;
  const log: Log = deps.log ?? (() => undefined);
  const flushEvery = Math.max(1, options.flushEveryEntries ?? 5000);
  const startedAt = now();
  const result: PollResult = {
    entriesRead: 0,
    messagesEnqueued: 0,
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

  /** A row or message that cannot be used: counted, logged and recorded, and the run goes on past it. */
  const recordSkipped = async (failure: Failure): Promise<void> => {
    result.badEntries++;
    log('warn', failure.reason, { sequence: failure.sequence });
    await failures.record(failure);
  };

  /** Queue texts of the messages; one that cannot be a queue message is recorded instead of stalling every run. */
  const encodeOrRecord = async (messages: readonly StudyMessage[]): Promise<string[]> => {
    const texts: string[] = [];
    for (const message of messages) {
      try {
        texts.push(encodeStudyMessage(message));
      } catch (error) {
        if (!(error instanceof NonRetryableError)) throw error;
        await recordSkipped(unencodableMessageFailure(message, error));
      }
    }
    return texts;
  };

  /** Enqueue what was gathered, then move the checkpoint. False when another poller got there first. */
  const flush = async (): Promise<boolean> => {
    if (pending.length === 0 && pendingStudies.size === 0 && sameCheckpoint(committed ?? start.position, position)) {
      return true;
    }
    const built = [...buildStudyMessages(pending), ...studyChangeMessages(pendingStudies)];
    const spans = deps.telemetry ? startEnqueueSpans(deps.telemetry.tracer, built, pending) : undefined;
    let texts: string[];
    try {
      texts = await encodeOrRecord(spans?.messages ?? built);
      await queue.send(texts);
    } catch (error) {
      spans?.end(error);
      throw error;
    }
    spans?.end();
    deps.telemetry?.recordMessagesEnqueued(texts.length);
    result.messagesEnqueued += texts.length;
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
      await recordSkipped(badRowFailure(row));
      return;
    }
    if (row.sequence <= start.skipThroughSequence) return;
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
        await recordSkipped(badSourceRowFailure(bad));
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
