import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createQueueClient, createStorageQueue } from '../../../shared/queue/messageQueue.js';
import { uniqueName, useAzuriteStorage } from '../../support/azuriteStorage.js';

describe('storage queue on Azurite', () => {
  const storage = useAzuriteStorage();

  it('creates the queue on first use and sends every text', async () => {
    const name = uniqueName('q-');
    const queue = createStorageQueue(storage(), name, { parallelism: 4 });
    const texts = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i}`).toString('base64'));
    await queue.send(texts);
    await queue.send([]);
    const client = createQueueClient(storage(), name);
    const received: string[] = [];
    for (;;) {
      const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
      if (receivedMessageItems.length === 0) break;
      received.push(...receivedMessageItems.map((item) => item.messageText));
    }
    assert.deepEqual(received.sort(), [...texts].sort());
  });
});
