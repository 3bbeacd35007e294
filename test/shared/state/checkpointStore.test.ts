import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkpointRowKey, createCheckpointStore, type Checkpoint } from '../../../shared/state/checkpointStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';
import { uniqueName, useAzuriteStorage } from '../../support/azuriteStorage.js';

describe('checkpoint store on Azurite', () => {
  const storage = useAzuriteStorage();

  const endpoint = 'https://example-dicom.dicom.azurehealthcareapis.com';

  it('creates, updates with its ETag and reports a stale ETag as a conflict', async () => {
    const store = createCheckpointStore(await createTableClient(storage(), uniqueName('cp')), { endpoint });
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
    const store = createCheckpointStore(await createTableClient(storage(), uniqueName('cp')), { endpoint });
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
    const table = await createTableClient(storage(), uniqueName('cp'));
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
