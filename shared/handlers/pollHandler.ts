import { context, SpanKind } from '@opentelemetry/api';
import { withRetryBudget } from '../http/retryBudget.js';
import { errorMessage } from '../lib/errorDetails.js';
import type { Log } from '../logging/log.js';
import { createOrthancChangeSource } from '../changes/orthancChangeSource.js';
import { measureLag, type ChangeFeedLag } from '../ops/lag.js';
import { measureOrthancLag } from '../ops/orthancLag.js';
import type { Runtime } from '../runtime/runtime.js';
import { pollChangeFeed, type PollResult } from '../sync/poll.js';
import { Attr, PollAttr, SpanName } from '../telemetry/names.js';
import { contextFromTraceparent, type InvocationInfo } from '../telemetry/traceContext.js';

/**
 * One poller run: read the change feed from the checkpoint, enqueue study messages, advance the checkpoint.
 * When the time budget ran out before the feed was drained, a continuation message starts the next run at once
 * instead of waiting for the next timer tick.
 *
 * Telemetry: the run is a span (child of the host's invocation when the adapter passes its trace context); each
 * study message gets a span of its own under it, whose traceparent travels in the message so the writer continues
 * the trace. After the run the lag (newest entry vs checkpoint) is measured and recorded.
 */
export async function runPoll(runtime: Runtime, log: Log, invocation: InvocationInfo = {}): Promise<PollResult> {
  const { config, telemetry } = runtime;
  const parent = contextFromTraceparent(invocation.traceparent, context.active());
  return telemetry.inSpan(
    SpanName.poll,
    {
      kind: SpanKind.INTERNAL,
      attributes: invocation.id ? { [Attr.invocationId]: invocation.id } : {},
    },
    parent,
    async (span) => {
      const pollLog = telemetry.log(log, invocation.id ? { invocationId: invocation.id } : {});
      const orthanc = runtime.orthanc;
      // The run's change-feed requests wait out transient failures from one budget (see shared/http/retryBudget.ts).
      const result = await withRetryBudget(config.transport.retryBudgetMs, () =>
        pollChangeFeed(
          {
            feed: runtime.changeFeed,
            ...(orthanc
              ? { source: createOrthancChangeSource({ ...orthanc, orthanc: orthanc.client, log: pollLog }) }
              : {}),
            checkpoints: runtime.checkpoints,
            queue: runtime.studyQueue,
            failures: runtime.failures,
            now: Date.now,
            log: pollLog,
            telemetry,
          },
          {
            // Orthanc's Seq is a sequence read after, like the v1 feed's: its checkpoint has the v1 shape.
            version: orthanc ? 'v1' : config.dicomWeb.changeFeed.version,
            pageSize: config.dicomWeb.changeFeed.pageSize,
            maxRunMs: config.dicomCast.maxPollSeconds * 1000,
          },
        ),
      );
      telemetry.recordEntriesRead(result.entriesRead);
      let lag: ChangeFeedLag | undefined;
      if (!result.lostRace) {
        try {
          lag = orthanc
            ? await measureOrthancLag(orthanc.client, result.checkpoint)
            : await measureLag(runtime.changeFeed, result.checkpoint);
          telemetry.recordLag(lag);
        } catch (error) {
          // The lag is for the dashboards: a failed read of the newest entry must not fail a run that did its work.
          pollLog('warn', `Change-feed lag not measured: ${errorMessage(error)}`);
        }
      }
      span.setAttributes({
        [PollAttr.entriesRead]: result.entriesRead,
        [PollAttr.messagesEnqueued]: result.messagesEnqueued,
        [PollAttr.badEntries]: result.badEntries,
        [PollAttr.caughtUp]: result.caughtUp,
        [PollAttr.lostRace]: result.lostRace,
        ...(result.checkpoint ? { [PollAttr.checkpointSequence]: result.checkpoint.sequence } : {}),
        ...(lag?.latest ? { [PollAttr.latestSequence]: lag.latest.sequence } : {}),
        ...(lag ? { [PollAttr.lagSequences]: lag.sequences } : {}),
        ...(lag?.seconds !== undefined ? { [PollAttr.lagSeconds]: lag.seconds } : {}),
      });
      pollLog('info', 'Change feed polled', {
        ...result,
        ...(lag
          ? { lagSequences: lag.sequences, ...(lag.seconds !== undefined ? { lagSeconds: lag.seconds } : {}) }
          : {}),
      });
      if (!result.caughtUp && !result.lostRace) {
        await runtime.continuationQueue.send([
          Buffer.from(JSON.stringify({ dicomCast: { kind: 'poll' } })).toString('base64'),
        ]);
      }
      return result;
    },
  );
}
