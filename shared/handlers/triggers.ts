import azureFunctions, {
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
  type StorageQueueTriggerOptions,
  type Timer,
  type TimerTriggerOptions,
} from '@azure/functions';
import { errorMessage } from '../lib/errorDetails.js';
import { invocationLog, type Log } from '../logging/log.js';
import { recordPoisonedMessage } from '../ops/poison.js';
import { readStatus } from '../ops/status.js';
import { pollContinuationQueueName, studyPoisonQueueName, studyQueueName } from '../queue/queueNames.js';
import { getRuntime, type Runtime } from '../runtime/runtime.js';
import { invocationInfo, type InvocationInfo } from '../telemetry/traceContext.js';
import { runDriftSweepHandler } from './driftSweepHandler.js';
import { runPoll } from './pollHandler.js';
import { handleStudyMessage } from './studyMessageHandler.js';

/**
 * Every function of the app, in one table: its trigger, the binding the Functions host indexes, and the adapter the
 * trigger calls (host context in, a handler on the worker's `Runtime`, log out). `functions/<name>.ts` registers its
 * row (the host loads `dist/functions/*.js`, one function per file), `dev/functionsHost` runs the timer and queue
 * rows the way the host does, and test/functions/registration.test.ts checks what the host would index.
 */

export type TimerAdapter = (timer: Timer, context: InvocationContext) => Promise<void>;
export type QueueAdapter = (queueItem: unknown, context: InvocationContext) => Promise<void>;
export type HttpAdapter = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export type TriggerRow =
  | { kind: 'timer'; binding: TimerTriggerOptions; handler: TimerAdapter }
  | { kind: 'storageQueue'; binding: StorageQueueTriggerOptions; handler: QueueAdapter }
  | { kind: 'http'; binding: HttpTriggerOptions; handler: HttpAdapter };

const storage = 'AzureWebJobsStorage';

/** A timer's adapter: says when the run is past due, then runs `handler` on the worker's runtime. */
function onTimer(
  what: string,
  handler: (runtime: Runtime, log: Log, invocation: InvocationInfo) => Promise<unknown>,
): TimerAdapter {
  return async (timer, context) => {
    const log = invocationLog(context);
    if (timer.isPastDue) log('warn', `${what} run is past due`);
    await handler(await getRuntime(), log, invocationInfo(context));
  };
}

export const triggers = {
  /** Reads the DICOM change feed from the checkpoint and enqueues one message per changed study. */
  changeFeedPoller: {
    kind: 'timer',
    binding: { schedule: '%DicomCast__Schedule%', runOnStartup: false, useMonitor: true },
    handler: onTimer('Poller', runPoll),
  },
  /**
   * The poller left a backlog, carry on now. Runs the same poll as the timer; the checkpoint's ETag keeps a
   * continuation and a timer run that overlap from both moving it.
   */
  changeFeedContinuation: {
    kind: 'storageQueue',
    binding: { queueName: pollContinuationQueueName, connection: storage },
    handler: async (_message, context) => {
      await runPoll(await getRuntime(), invocationLog(context), invocationInfo(context));
    },
  },
  /** Brings the FHIR Patient, Endpoint and ImagingStudy of one study in line with the DICOM server. */
  imagingStudyWriter: {
    kind: 'storageQueue',
    binding: { queueName: studyQueueName, connection: storage },
    handler: async (queueItem, context) => {
      const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
      await handleStudyMessage(
        await getRuntime(),
        queueItem,
        dequeueCount,
        invocationLog(context),
        invocationInfo(context),
      );
    },
  },
  /**
   * Each study message the writer gave up on becomes one failure record (unless the writer already recorded it on
   * its last attempt), then leaves the queue. Replay with `dicom-cast failures replay`.
   */
  poisonStudies: {
    kind: 'storageQueue',
    binding: { queueName: studyPoisonQueueName, connection: storage },
    handler: async (queueItem, context) => {
      await recordPoisonedMessage(await getRuntime(), queueItem, invocationLog(context), invocationInfo(context));
    },
  },
  /** One bounded drift-sweep run (archive vs FHIR), resuming from its cursor. */
  driftSweep: {
    kind: 'timer',
    binding: { schedule: '%DicomCast__DriftSweep__Schedule%', runOnStartup: false, useMonitor: true },
    handler: onTimer('Drift sweep', runDriftSweepHandler),
  },
  /**
   * `GET /api/status` (function key): checkpoint, newest change-feed entry, lag, queue depths and the last 24 hours'
   * failures by category, as JSON. The same figures as `dicom-cast status`; see shared/ops/status.ts.
   */
  status: {
    kind: 'http',
    binding: { methods: ['GET'], authLevel: 'function', route: 'status' },
    handler: async (_request, context) => {
      try {
        const body = await readStatus(await getRuntime());
        return { status: 200, jsonBody: body, headers: { 'Cache-Control': 'no-store' } };
      } catch (error) {
        const reason = errorMessage(error);
        invocationLog(context)('error', `Status could not be read: ${reason}`);
        return { status: 503, jsonBody: { error: reason }, headers: { 'Cache-Control': 'no-store' } };
      }
    },
  },
} as const satisfies Record<string, TriggerRow>;

export type TriggerName = keyof typeof triggers;

/** Registers one row with the Functions host (what `func start` indexes) and returns its adapter. */
export function registerTrigger<Name extends TriggerName>(name: Name): (typeof triggers)[Name]['handler'] {
  const row: TriggerRow = triggers[name];
  const { app } = azureFunctions;
  switch (row.kind) {
    case 'timer':
      app.timer(name, { ...row.binding, handler: row.handler });
      break;
    case 'storageQueue':
      app.storageQueue(name, { ...row.binding, handler: row.handler });
      break;
    case 'http':
      app.http(name, { ...row.binding, handler: row.handler });
      break;
  }
  return triggers[name].handler;
}
