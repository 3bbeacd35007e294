import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { formatTagWarnings } from '../../../cli/commands/failures.js';
import type { TagIssue } from '../../../shared/mapping/index.js';
import { createTagWarningStore } from '../../../shared/state/tagWarningStore.js';

const warning = (instance: string, value: string): TagIssue => ({
  severity: 'warning',
  study: '1.2.3',
  series: '1.2.3.1',
  instance,
  tag: '(0010,0040)',
  keyword: 'PatientSex',
  value,
  reason: `PatientSex "${value}" is not M, F or O; gender left unchanged`,
});

describe('tag warning records', () => {
  let azurite: RunningAzurite;
  let table: TableClient;
  before(async () => {
    azurite = await startAzurite();
    table = TableClient.fromConnectionString(azurite.connectionString, 'TagWarnings', {
      allowInsecureConnection: true,
    });
    await table.createTable();
  });
  after(async () => {
    await azurite.close();
  });

  it('keeps one row per study and tag however often the study is synced, naming the values and where', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = createTagWarningStore(table, () => now);
    await store.record('1.2.3', [warning('1.2.3.1.1', 'X'), warning('1.2.3.1.2', 'X'), warning('1.2.3.1.3', 'U')]);
    now += 60_000;
    await store.record('1.2.3', [warning('1.2.3.1.1', 'X'), warning('1.2.3.1.2', 'X'), warning('1.2.3.1.3', 'U')]);
    await store.record('9.9.9', [{ ...warning('9.9.9.1.1', 'Z'), study: '9.9.9' }]);

    const rows = await store.list({ study: '1.2.3' });
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0], {
      study: '1.2.3',
      tag: '(0010,0040)',
      keyword: 'PatientSex',
      reason: 'PatientSex "X" is not M, F or O; gender left unchanged',
      values: ['X', 'U'],
      instances: 3,
      instance: '1.2.3.1.1',
      series: '1.2.3.1',
      lastSeenAt: '2026-01-01T00:01:00.000Z',
    });
    assert.equal((await store.list()).length, 2);
    assert.match(formatTagWarnings(rows), /PatientSex \(0010,0040\)\n {2}values "X", "U" in 3 instance\(s\)/);
  });
});
