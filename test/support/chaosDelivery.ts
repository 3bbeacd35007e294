import type { QueueClient, DequeuedMessageItem } from '@azure/storage-queue';
import type { InvocationContext } from '@azure/functions';
import { createInvocationContext } from '../../dev/functionsHost/invocationContext.js';
import type { SeededRandom } from '../../dev/samples/index.js';

export interface ChaosOptions {
  /** Concurrent invocations, like several Functions instances each taking a batch. */
  concurrency: number;
  /** Chance that a received message is handed to two invocations at once (a duplicate delivery). */
  duplicateChance: number;
  /** Chance that a message is put back unprocessed for 0-1.5 s, so newer messages overtake it. */
  delayChance: number;
  /** Chance that a message is processed but not deleted, so it is delivered again (a lost completion). */
  redeliverChance: number;
}

export interface ChaosStats {
  invocations: number;
  failures: number;
  duplicates: number;
  delays: number;
  redeliveries: number;
}

type Handler = (queueItem: unknown, context: InvocationContext) => Promise<void>;

/**
 * Delivers queue messages to the real writer handler the way a hostile-but-legal storage queue and host could:
 * out of order, twice at once, late, and again after success. Randomness is seeded; the interleaving of
 * concurrent work is not, which is the point.
 */
export class ChaosDelivery {
  readonly stats: ChaosStats = { invocations: 0, failures: 0, duplicates: 0, delays: 0, redeliveries: 0 };

  constructor(
    private readonly queue: QueueClient,
    private readonly handler: Handler,
    private readonly random: SeededRandom,
    private readonly options: ChaosOptions,
  ) {}

  /** Receives and handles messages until `shouldStop()` is true and the queue is empty. */
  async run(shouldStop: () => boolean): Promise<void> {
    const workers = Array.from({ length: this.options.concurrency }, () => this.worker(shouldStop));
    await Promise.all(workers);
  }

  private async worker(shouldStop: () => boolean): Promise<void> {
    for (;;) {
      const { receivedMessageItems } = await this.queue.receiveMessages({ numberOfMessages: 4, visibilityTimeout: 30 });
      if (receivedMessageItems.length === 0) {
        if (shouldStop()) {
          const { approximateMessagesCount = 0 } = await this.queue.getProperties();
          if (approximateMessagesCount === 0) return;
        }
        await sleep(20);
        continue;
      }
      const batch = [...receivedMessageItems].sort(() => this.random.next() - 0.5);
      for (const message of batch) await this.deliver(message);
    }
  }

  private async deliver(message: DequeuedMessageItem): Promise<void> {
    const roll = this.random.next();
    if (roll < this.options.delayChance) {
      this.stats.delays++;
      await this.queue.updateMessage(message.messageId, message.popReceipt, undefined, this.random.int(0, 1));
      return;
    }
    const body = JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')) as unknown;
    const invoke = async () => {
      this.stats.invocations++;
      const context = createInvocationContext(
        'imagingStudyWriter',
        { id: message.messageId, dequeueCount: message.dequeueCount },
        () => undefined,
      );
      await this.handler(structuredClone(body), context);
    };
    const duplicate = this.random.next() < this.options.duplicateChance;
    const redeliver = this.random.next() < this.options.redeliverChance;
    try {
      if (duplicate) {
        this.stats.duplicates++;
        await Promise.all([invoke(), invoke()]);
      } else {
        await invoke();
      }
    } catch {
      this.stats.failures++;
      await this.queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
      return;
    }
    if (redeliver) {
      this.stats.redeliveries++;
      await this.queue.updateMessage(message.messageId, message.popReceipt, undefined, this.random.int(0, 1));
      return;
    }
    await this.queue.deleteMessage(message.messageId, message.popReceipt);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
