import { QueueClient } from '@azure/storage-queue';
import { changeFeedContinuation } from '../../functions/changeFeedContinuation.js';
import { changeFeedPoller } from '../../functions/changeFeedPoller.js';
import { driftSweep } from '../../functions/driftSweep.js';
import { imagingStudyWriter } from '../../functions/imagingStudyWriter.js';
import { poisonStudies } from '../../functions/poisonStudies.js';
import { settingDefinitions } from '../../shared/config/appConfig.js';
import type { FlatSettings } from '../../shared/config/settingsSource.js';
import { readSetting } from '../../shared/config/settingsSource.js';
import { pollContinuationQueueName, studyPoisonQueueName, studyQueueName } from '../../shared/queue/queueNames.js';
import { resetRuntime } from '../../shared/runtime/runtime.js';
import { readHostJson, type HostJson } from './hostJson.js';
import type { HostLog } from './invocationContext.js';
import { QueueTriggerHost, type QueueHandler } from './queueTriggerHost.js';
import { TimerTriggerHost } from './timerTriggerHost.js';

export interface LocalFunctionsHostOptions {
  settings: FlatSettings;
  hostJsonPath?: string;
  log?: HostLog;
  /** Override host.json queue settings (tests: a short visibility timeout). */
  queueOverrides?: Partial<HostJson['queues']>;
}

/**
 * What `func start` does for this app (its queue- and timer-triggered functions; the HTTP status function is
 * exercised by its tests), in plain Node: the app settings become the environment, the timer runs
 * on its schedule and the queues are polled per host.json, and each trigger calls the exact handler exported by
 * functions/*.ts.
 */
export class LocalFunctionsHost {
  readonly timer: TimerTriggerHost;
  /** The drift sweep's timer; not part of runOnce (call `sweep.fire()`), started by start(). */
  readonly sweep: TimerTriggerHost;
  readonly writer: QueueTriggerHost;
  readonly continuation: QueueTriggerHost;
  readonly poison: QueueTriggerHost;
  readonly hostJson: HostJson;

  constructor(options: LocalFunctionsHostOptions) {
    for (const [key, value] of Object.entries(options.settings)) {
      if (value !== undefined) process.env[key] = value;
    }
    resetRuntime();
    const log = options.log ?? (() => undefined);
    const hostJson = readHostJson(options.hostJsonPath ?? 'host.json');
    this.hostJson = { ...hostJson, queues: { ...hostJson.queues, ...options.queueOverrides } };
    const connection = readSetting(options.settings, ['AzureWebJobsStorage']);
    if (!connection) throw new Error('The local host needs AzureWebJobsStorage (a connection string)');
    const queue = (name: string) => new QueueClient(connection, name);
    const schedule = readSetting(options.settings, ['DicomCast', 'Schedule']);
    if (!schedule) throw new Error('The timer binding reads %DicomCast__Schedule%: set DicomCast__Schedule');
    this.timer = new TimerTriggerHost('changeFeedPoller', schedule, changeFeedPoller, log);
    const sweepSchedule =
      readSetting(options.settings, settingDefinitions.driftSweepSchedule.path.split(':')) ??
      settingDefinitions.driftSweepSchedule.default;
    this.sweep = new TimerTriggerHost('driftSweep', sweepSchedule, driftSweep, log);
    // Like the host: a queue trigger's failed messages go to `<queue>-poison`.
    const queueTrigger = (functionName: string, queueName: string, handler: QueueHandler) =>
      new QueueTriggerHost({
        functionName,
        queue: queue(queueName),
        poisonQueue: queue(`${queueName}-poison`),
        settings: this.hostJson.queues,
        handler,
        log,
      });
    this.writer = queueTrigger('imagingStudyWriter', studyQueueName, imagingStudyWriter);
    this.continuation = queueTrigger('changeFeedContinuation', pollContinuationQueueName, changeFeedContinuation);
    this.poison = queueTrigger('poisonStudies', studyPoisonQueueName, poisonStudies);
    this.queues = [queue(studyQueueName), queue(pollContinuationQueueName), queue(studyPoisonQueueName)];
  }

  private readonly queues: QueueClient[];

  private async ensureQueues(): Promise<void> {
    await Promise.all(this.queues.map((client) => client.createIfNotExists()));
  }

  /** One full cycle: a timer run, its continuations, and every study message, until all queues are empty. */
  async runOnce(): Promise<void> {
    await this.ensureQueues();
    await this.timer.fire();
    for (;;) {
      await this.continuation.runUntilIdle();
      await this.writer.runUntilIdle();
      await this.poison.runUntilIdle();
      const [{ approximateMessagesCount: pending = 0 }] = await Promise.all([this.queues[1]!.getProperties()]);
      if (pending === 0) return;
    }
  }

  async start(): Promise<void> {
    await this.ensureQueues();
    this.timer.start();
    this.sweep.start();
    this.writer.start();
    this.continuation.start();
    this.poison.start();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.timer.stop(),
      this.sweep.stop(),
      this.writer.stop(),
      this.continuation.stop(),
      this.poison.stop(),
    ]);
  }
}
