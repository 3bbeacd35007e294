import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'node:test';
import { createFailureStore } from '../../../shared/state/failureStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';
import { uniqueName, useAzuriteStorage } from '../../support/azuriteStorage.js';

describe('failure store on Azurite', () => {
  const storage = useAzuriteStorage();

  it('records, lists newest first, filters by time, and removes', async () => {
    let clock = Date.UTC(2024, 0, 1);
    const store = createFailureStore(await createTableClient(storage(), uniqueName('fail')), () => clock);
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
    const table = await createTableClient(storage(), uniqueName('fail'));
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
