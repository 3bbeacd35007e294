import type { InvocationContext } from '@azure/functions';
import type { QueueClient, DequeuedMessageItem } from '@azure/storage-queue';
import type { QueueHostSettings } from './hostJson.js';
import { createInvocationContext, type HostLog } from './invocationContext.js';

export type QueueHandler = (queueItem: unknown, context: InvocationContext) => Promise<void>;

export interface QueueTriggerHostOptions {
  functionName: string;
  queue: QueueClient;
  poisonQueue: QueueClient;
  settings: QueueHostSettings;
  handler: QueueHandler;
  log: HostLog;
  /** How long a received message stays hidden while its invocation runs (the host's lease). */
  leaseMs?: number;
}

export interface QueueHostStats {
  invocations: number;
  succeeded: number;
  failed: number;
  poisoned: number;
}

/**
 * Runs a storage-queue-triggered handler the way the Functions host does: batches of `batchSize`, a new batch
 * when the running ones drop to `newBatchThreshold`, the body decoded per `messageEncoding` and handed over as
 * parsed JSON when it is JSON, `dequeueCount` in the trigger metadata, a failed message made visible again
 * after `visibilityTimeout`, and after `maxDequeueCount` failures the body copied to `<queue>-poison`.
 */
export class QueueTriggerHost {
  readonly stats: QueueHostStats = { invocations: 0, succeeded: 0, failed: 0, poisoned: 0 };
  private readonly running = new Set<Promise<void>>();
  private stopped = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: QueueTriggerHostOptions) {}

  /** The queue this trigger reads. */
  get queue(): QueueClient {
    return this.options.queue;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.pollLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.allSettled([...this.running]);
  }

  /** Processes until the queue holds nothing (visible or hidden) and no invocation runs. */
  async runUntilIdle(maxMs = 10 * 60_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      await this.receiveOnce();
      if (this.running.size === 0) {
        const { approximateMessagesCount = 0 } = await this.options.queue.getProperties();
        if (approximateMessagesCount === 0) return;
        if (Date.now() > deadline) throw new Error(`Queue ${this.options.queue.name} not idle after ${maxMs} ms`);
        await sleep(50);
      } else {
        await Promise.race(this.running);
      }
    }
  }

  private async pollLoop(): Promise<void> {
    let idleDelay = 100;
    while (!this.stopped) {
      const received = await this.receiveOnce().catch((error: unknown) => {
        this.options.log('error', this.options.functionName, 'Receiving from the queue failed', error);
        return 0;
      });
      if (received > 0) {
        idleDelay = 100;
        if (this.running.size > this.options.settings.newBatchThreshold) await Promise.race(this.running);
      } else {
        await sleep(idleDelay);
        idleDelay = Math.min(idleDelay * 2, this.options.settings.maxPollingIntervalMs);
      }
    }
  }

  private async receiveOnce(): Promise<number> {
    if (this.running.size > this.options.settings.newBatchThreshold) return 0;
    const response = await this.options.queue.receiveMessages({
      numberOfMessages: this.options.settings.batchSize,
      visibilityTimeout: Math.ceil((this.options.leaseMs ?? 10 * 60_000) / 1000),
    });
    for (const message of response.receivedMessageItems) {
      const invocation = this.invoke(message).finally(() => this.running.delete(invocation));
      this.running.add(invocation);
    }
    return response.receivedMessageItems.length;
  }

  private decode(message: DequeuedMessageItem): unknown {
    const text =
      this.options.settings.messageEncoding === 'base64'
        ? Buffer.from(message.messageText, 'base64').toString('utf8')
        : message.messageText;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  private async invoke(message: DequeuedMessageItem): Promise<void> {
    const { functionName, handler, settings, queue, poisonQueue, log } = this.options;
    this.stats.invocations++;
    const context = createInvocationContext(
      functionName,
      {
        id: message.messageId,
        dequeueCount: message.dequeueCount,
        popReceipt: message.popReceipt,
        insertionTime: message.insertedOn.toISOString(),
        expirationTime: message.expiresOn.toISOString(),
        nextVisibleTime: message.nextVisibleOn.toISOString(),
      },
      log,
    );
    const started = Date.now();
    log(
      'debug',
      functionName,
      `Executing 'Functions.${functionName}' (Reason='New queue message detected on '${queue.name}'.', Id=${context.invocationId})`,
    );
    try {
      await handler(this.decode(message), context);
      log(
        'debug',
        functionName,
        `Executed 'Functions.${functionName}' (Succeeded, Id=${context.invocationId}, Duration=${Date.now() - started}ms)`,
      );
      this.stats.succeeded++;
      await queue.deleteMessage(message.messageId, message.popReceipt);
    } catch (error) {
      log(
        'debug',
        functionName,
        `Executed 'Functions.${functionName}' (Failed, Id=${context.invocationId}, Duration=${Date.now() - started}ms)`,
      );
      this.stats.failed++;
      log('error', functionName, `Invocation failed (dequeueCount ${message.dequeueCount})`, error);
      if (message.dequeueCount >= settings.maxDequeueCount) {
        this.stats.poisoned++;
        await poisonQueue.createIfNotExists();
        await poisonQueue.sendMessage(message.messageText);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } else {
        await queue.updateMessage(
          message.messageId,
          message.popReceipt,
          undefined,
          Math.floor(settings.visibilityTimeoutMs / 1000),
        );
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
