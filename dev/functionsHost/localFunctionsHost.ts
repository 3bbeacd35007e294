import { QueueClient } from '@azure/storage-queue';
import { settingDefinitions, type SettingDefinition } from '../../shared/config/settingDefinitions.js';
import type { FlatSettings } from '../../shared/config/settingsSource.js';
import { readSetting, settingPathOf } from '../../shared/config/settingsSource.js';
import { triggers, type TriggerName } from '../../shared/handlers/triggers.js';
import { resetRuntime } from '../../shared/runtime/runtime.js';
import { readHostJson, type HostJson } from './hostJson.js';
import type { HostLog } from './invocationContext.js';
import { QueueTriggerHost } from './queueTriggerHost.js';
import { TimerTriggerHost } from './timerTriggerHost.js';

type NameOfKind<Kind> = {
  [Name in TriggerName]: (typeof triggers)[Name]['kind'] extends Kind ? Name : never;
}[TriggerName];
type TimerName = NameOfKind<'timer'>;
type QueueName = NameOfKind<'storageQueue'>;

/**
 * A binding value with its `%Setting%` expressions resolved as the host does at indexing: from the app settings,
 * else (unlike the host, which refuses to index) from the setting's default in shared/config, else an error.
 */
function resolveBinding(functionName: string, value: string, settings: FlatSettings): string {
  return value.replace(/%([^%]+)%/g, (_expression, key: string) => {
    const path = settingPathOf(key);
    const wanted = path.join(':').toLowerCase();
    const definition = Object.values<SettingDefinition>(settingDefinitions).find(
      (candidate) => candidate.path.toLowerCase() === wanted,
    );
    const resolved = readSetting(settings, path) ?? definition?.default;
    if (!resolved) throw new Error(`The ${functionName} binding reads %${key}%: set ${key}`);
    return resolved;
  });
}

function rowOf<Name extends string, Host>(hosts: ReadonlyMap<Name, Host>, name: Name): Host {
  const host = hosts.get(name);
  if (!host) throw new Error(`shared/handlers/triggers.ts has no ${name} row of the kind the local host runs it as`);
  return host;
}

export interface LocalFunctionsHostOptions {
  settings: FlatSettings;
  hostJsonPath?: string;
  log?: HostLog;
  /** Override host.json queue settings (tests: a short visibility timeout). */
  queueOverrides?: Partial<HostJson['queues']>;
}

/**
 * What `func start` does for this app (the timer and queue rows of shared/handlers/triggers.ts; the HTTP status
 * function is exercised by its tests), in plain Node: the app settings become the environment, each timer runs on
 * its schedule and each queue is polled per host.json, and each trigger calls the row's adapter, the exact handler
 * functions/<name>.ts registers.
 */
export class LocalFunctionsHost {
  readonly timers: ReadonlyMap<TimerName, TimerTriggerHost>;
  readonly queueTriggers: ReadonlyMap<QueueName, QueueTriggerHost>;
  /** The change-feed poller's timer. */
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
    const timers = new Map<TimerName, TimerTriggerHost>();
    const queueTriggers = new Map<QueueName, QueueTriggerHost>();
    for (const name of Object.keys(triggers) as TriggerName[]) {
      const row = triggers[name];
      if (row.kind === 'timer') {
        const schedule = resolveBinding(name, row.binding.schedule, options.settings);
        timers.set(name as TimerName, new TimerTriggerHost(name, schedule, row.handler, log));
      } else if (row.kind === 'storageQueue') {
        const queueName = resolveBinding(name, row.binding.queueName, options.settings);
        // Like the host: a queue trigger's failed messages go to `<queue>-poison`.
        const host = new QueueTriggerHost({
          functionName: name,
          queue: queue(queueName),
          poisonQueue: queue(`${queueName}-poison`),
          settings: this.hostJson.queues,
          handler: row.handler,
          log,
        });
        queueTriggers.set(name as QueueName, host);
      }
    }
    this.timers = timers;
    this.queueTriggers = queueTriggers;
    this.timer = rowOf(timers, 'changeFeedPoller');
    this.sweep = rowOf(timers, 'driftSweep');
    this.writer = rowOf(queueTriggers, 'imagingStudyWriter');
    this.continuation = rowOf(queueTriggers, 'changeFeedContinuation');
    this.poison = rowOf(queueTriggers, 'poisonStudies');
  }

  private async ensureQueues(): Promise<void> {
    await Promise.all([...this.queueTriggers.values()].map((trigger) => trigger.queue.createIfNotExists()));
  }

  /** One full cycle: a timer run, its continuations, and every study message, until all queues are empty. */
  async runOnce(): Promise<void> {
    await this.ensureQueues();
    await this.timer.fire();
    for (;;) {
      await this.continuation.runUntilIdle();
      await this.writer.runUntilIdle();
      await this.poison.runUntilIdle();
      const { approximateMessagesCount: pending = 0 } = await this.continuation.queue.getProperties();
      if (pending === 0) return;
    }
  }

  async start(): Promise<void> {
    await this.ensureQueues();
    for (const timer of this.timers.values()) timer.start();
    for (const trigger of this.queueTriggers.values()) trigger.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.timers.values(), ...this.queueTriggers.values()].map((trigger) => trigger.stop()));
  }
}
