import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import type { StorageConnection } from '../../../shared/config/storageConnection.js';
import { createQueueClient, createStorageQueue } from '../../../shared/queue/messageQueue.js';
import { checkpointRowKey, createCheckpointStore, type Checkpoint } from '../../../shared/state/checkpointStore.js';
import { createFailureStore } from '../../../shared/state/failureStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';

const uniqueName = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

describe('state stores on Azurite', () => {
  let azurite: RunningAzurite;
  let storage: StorageConnection;

  before(async () => {
    azurite = await startAzurite();
    storage = { kind: 'connectionString', connectionString: azurite.connectionString };
  });
  after(async () => {
    await azurite.close();
  });

  describe('checkpoint store', () => {
    const endpoint = 'https://example-dicom.dicom.azurehealthcareapis.com';

    it('creates, updates with its ETag and reports a stale ETag as a conflict', async () => {
      const store = createCheckpointStore(await createTableClient(storage, uniqueName('cp')), { endpoint });
      assert.equal(await store.read(), undefined);

      const first: Checkpoint = { version: 'v1', sequence: 10 };
      const created = await store.write(first, undefined);
      assert.equal(created.outcome, 'written');
      assert.deepEqual(await store.write(first, undefined), { outcome: 'conflict' }, 'create when it exists');

      const read = await store.read();
      assert.deepEqual(read?.checkpoint, first);
      assert.equal(read?.etag, created.outcome === 'written' ? created.etag : undefined);

      const second: Checkpoint = {
        version: 'v2',
        timestamp: '2024-01-01T00:00:05.1234567+00:00',
        offset: 3,
        sequence: 42,
      };
      const updated = await store.write(second, read?.etag);
      assert.equal(updated.outcome, 'written');
      assert.deepEqual(await store.write({ version: 'v1', sequence: 99 }, read?.etag), { outcome: 'conflict' });
      assert.deepEqual((await store.read())?.checkpoint, second);

      // Replace, not merge: going back to v1 leaves no v2 fields behind that a later read could trust.
      const third: Checkpoint = { version: 'v1', sequence: 50 };
      assert.equal((await store.write(third, (await store.read())?.etag)).outcome, 'written');
      assert.deepEqual((await store.read())?.checkpoint, third);
    });

    it('lets exactly one of two writers holding the same ETag through', async () => {
      const store = createCheckpointStore(await createTableClient(storage, uniqueName('cp')), { endpoint });
      for (const etag of [undefined, 'read']) {
        const current = etag === undefined ? undefined : (await store.read())?.etag;
        const outcomes = await Promise.all([
          store.write({ version: 'v1', sequence: 100 }, current),
          store.write({ version: 'v1', sequence: 200 }, current),
        ]);
        assert.deepEqual(outcomes.map((outcome) => outcome.outcome).sort(), ['conflict', 'written']);
      }
    });

    it('keeps one row per endpoint in a shared table', async () => {
      const table = await createTableClient(storage, uniqueName('cp'));
      const a = createCheckpointStore(table, { endpoint });
      const b = createCheckpointStore(table, { endpoint: 'https://other.dicom.azurehealthcareapis.com' });
      await a.write({ version: 'v1', sequence: 1 }, undefined);
      await b.write({ version: 'v1', sequence: 2 }, undefined);
      assert.deepEqual(
        [(await a.read())?.checkpoint, (await b.read())?.checkpoint],
        [
          { version: 'v1', sequence: 1 },
          { version: 'v1', sequence: 2 },
        ],
      );
      assert.equal(checkpointRowKey({ endpoint: `${endpoint.toUpperCase()}/` }), checkpointRowKey({ endpoint }));
      assert.doesNotMatch(checkpointRowKey({ endpoint: 'https://h/a?b#c\\d' }), /[/?#\\]/);
    });
  });

  describe('failure store', () => {
    it('records, lists newest first, filters by time, and removes', async () => {
      let clock = Date.UTC(2024, 0, 1);
      const store = createFailureStore(await createTableClient(storage, uniqueName('fail')), () => clock);
      const raw = { Sequence: 7, StudyInstanceUid: '1.2.3', Action: 'move' };
      const first = await store.record({
        category: 'bad-change-feed-entry',
        reason: 'Change feed entry sequence 7 skipped: Action "move" is unknown',
        study: '1.2.3',
        sequence: 7,
        payload: raw,
      });
      clock += 60_000;
      const second = await store.record({
        category: 'fhir-rejected',
        reason: 'HTTP 422',
        attempts: 5,
        tag: '00100020',
      });

      const listed = await store.list();
      assert.deepEqual(
        listed.map((record) => record.id),
        [second.id, first.id],
      );
      assert.deepEqual(listed[1], {
        id: first.id,
        occurredAt: '2024-01-01T00:00:00.000Z',
        category: 'bad-change-feed-entry',
        reason: 'Change feed entry sequence 7 skipped: Action "move" is unknown',
        study: '1.2.3',
        sequence: 7,
        payload: raw,
      });
      assert.deepEqual(listed[0], { ...second, attempts: 5, tag: '00100020' });

      assert.deepEqual(
        (await store.list({ since: new Date(Date.UTC(2024, 0, 1, 0, 0, 30)) })).map((record) => record.id),
        [second.id],
      );
      assert.deepEqual(
        (await store.list({ since: new Date(Date.UTC(2024, 0, 1)) })).map((record) => record.id),
        [second.id, first.id],
      );
      assert.equal((await store.list({ limit: 1 })).length, 1);

      await store.remove(first.id);
      await store.remove(first.id); // already gone: no error
      assert.deepEqual(
        (await store.list()).map((record) => record.id),
        [second.id],
      );
    });

    it('keeps a payload larger than one table property, and truncates a huge one with a marker', async () => {
      const table = await createTableClient(storage, uniqueName('fail'));
      const store = createFailureStore(table);
      // Over 64 KiB of UTF-8, nearly all multi-byte characters (patient names are not all ASCII).
      const large = { name: 'Müller^Jürgen', text: 'é'.repeat(50_000) };
      const huge = { text: 'x'.repeat(1_000_000) };
      await store.record({ category: 'bad-dicom-data', reason: 'large', payload: large });
      await store.record({ category: 'bad-dicom-data', reason: 'huge', payload: huge });
      const byReason = new Map((await store.list()).map((record) => [record.reason, record]));
      assert.ok(isDeepStrictEqual(byReason.get('large')?.payload, large), 'the large payload comes back unchanged');
      assert.equal(byReason.get('large')?.payloadTruncated, undefined);
      const truncated = byReason.get('huge');
      assert.equal(truncated?.payloadTruncated, true);
      assert.ok(typeof truncated.payload === 'string' && truncated.payload.startsWith('{"text":"xxx'));

      // Stored as ASCII JSON: Azurite garbles multi-byte characters that straddle its 64 KiB read chunks.
      for await (const entity of table.listEntities<Record<string, unknown>>()) {
        for (const [key, value] of Object.entries(entity)) {
          if (key.startsWith('payload') && typeof value === 'string') assert.match(value, /^[\x20-\x7e]*$/, key);
        }
      }
    });
  });

  describe('storage queue', () => {
    it('creates the queue on first use and sends every text', async () => {
      const name = uniqueName('q-');
      const queue = createStorageQueue(storage, name, { parallelism: 4 });
      const texts = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i}`).toString('base64'));
      await queue.send(texts);
      await queue.send([]);
      const client = createQueueClient(storage, name);
      const received: string[] = [];
      for (;;) {
        const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
        if (receivedMessageItems.length === 0) break;
        received.push(...receivedMessageItems.map((item) => item.messageText));
      }
      assert.deepEqual(received.sort(), [...texts].sort());
    });
  });
});
