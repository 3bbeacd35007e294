import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueueClient } from '@azure/storage-queue';
import type { InvocationContext } from '@azure/functions';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { QueueTriggerHost } from '../../../dev/functionsHost/queueTriggerHost.js';
import { readHostJson } from '../../../dev/functionsHost/hostJson.js';

describe('local queue trigger host', () => {
  let azurite: RunningAzurite;
  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite.close();
  });

  it('decodes base64 JSON, retries with dequeueCount and moves the body to <queue>-poison after maxDequeueCount', async () => {
    const queue = new QueueClient(azurite.connectionString, 'host-test');
    const poison = new QueueClient(azurite.connectionString, 'host-test-poison');
    await queue.createIfNotExists();
    const body = JSON.stringify({ dicomCast: { kind: 'test', payload: { n: 1 } } });
    await queue.sendMessage(Buffer.from(body).toString('base64'));
    await queue.sendMessage(Buffer.from(JSON.stringify({ ok: true })).toString('base64'));

    const seen: { item: unknown; dequeueCount: unknown }[] = [];
    const settings = { ...readHostJson('host.json').queues, visibilityTimeoutMs: 0 };
    const host = new QueueTriggerHost({
      functionName: 'test',
      queue,
      poisonQueue: poison,
      settings,
      log: () => undefined,
      handler: async (item: unknown, context: InvocationContext) => {
        seen.push({ item, dequeueCount: context.triggerMetadata?.dequeueCount });
        if ((item as { dicomCast?: unknown }).dicomCast) throw new Error('always fails');
      },
    });
    await host.runUntilIdle(30_000);

    const failing = seen.filter((call) => (call.item as { dicomCast?: unknown }).dicomCast);
    assert.equal(failing.length, settings.maxDequeueCount);
    assert.deepEqual(
      failing.map((call) => call.dequeueCount),
      Array.from({ length: settings.maxDequeueCount }, (_, index) => index + 1),
    );
    assert.deepEqual(failing[0]?.item, JSON.parse(body), 'the handler gets the parsed JSON object');
    const { receivedMessageItems } = await poison.receiveMessages();
    assert.equal(receivedMessageItems.length, 1);
    assert.equal(
      Buffer.from(receivedMessageItems[0]!.messageText, 'base64').toString(),
      body,
      'only the body is copied',
    );
    assert.equal(host.stats.succeeded, 1);
    assert.equal(host.stats.poisoned, 1);
  });
});
