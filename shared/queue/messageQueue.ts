import { QueueClient } from '@azure/storage-queue';
import type { StorageConnection } from '../config/storageConnection.js';
import { RetryableError } from '../errors/errors.js';
import { forEachLimited } from '../lib/concurrency.js';
import { describeStorageError, once, storageCredential } from '../state/storageClients.js';

/** Where study messages go. `send` resolves only when every text is on the queue. */
export interface MessageQueue {
  send(texts: string[]): Promise<void>;
}

export function createQueueClient(storage: StorageConnection, queueName: string): QueueClient {
  return storage.kind === 'connectionString'
    ? new QueueClient(storage.connectionString, queueName)
    : new QueueClient(
        `${storage.queueServiceUri.replace(/\/+$/, '')}/${queueName}`,
        storageCredential(storage.clientId),
      );
}

const createdQueues = new Map<string, Promise<void>>();

/**
 * A Storage queue that takes texts as they are: callers pass what the trigger expects to read
 * (base64 for the Functions host, see encodeStudyMessage). The queue is created on first use, once per process.
 */
export function createStorageQueue(
  storage: StorageConnection,
  queueName: string,
  options: { parallelism?: number } = {},
): MessageQueue {
  const client = createQueueClient(storage, queueName);
  const parallelism = options.parallelism ?? 16;
  return {
    async send(texts) {
      if (texts.length === 0) return;
      try {
        await once(createdQueues, client.url, async () => {
          await client.createIfNotExists();
        });
        await forEachLimited(texts, parallelism, async (text) => {
          await client.sendMessage(text);
        });
      } catch (error) {
        throw new RetryableError(
          `Sending to queue ${queueName} failed: ${describeStorageError(error)}`,
          'transient',
          {},
          { cause: error },
        );
      }
    },
  };
}
