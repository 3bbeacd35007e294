import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBadRow, parseChangeFeedRow } from '../../../shared/dicomweb/changeFeedRow.js';
import { expectBadRow as bad, parsedServiceRow as good, serviceRow as row } from '../../support/changeFeedRows.js';

/**
 * The change-feed row parser, case by case. An `update` row parsed as anything else loses a demographics change
 * (the writer applies PatientBirthDate only for updates), so every spelling the service may print is pinned here.
 */
describe('parseChangeFeedRow: actions and states', () => {
  for (const spelling of ['Update', 'update', 'UPDATE', ' update ']) {
    it(`Action ${JSON.stringify(spelling)} is an update`, () => {
      const parsed = parseChangeFeedRow(row({ Action: spelling }));
      assert.equal(isBadRow(parsed), false);
      assert.deepEqual(parsed, { ...good, action: 'update' });
    });
  }
  for (const [spelling, action] of [
    ['Create', 'create'],
    ['DELETE', 'delete'],
    ['delete', 'delete'],
  ] as const) {
    it(`Action ${JSON.stringify(spelling)} is ${action}`, () => {
      assert.deepEqual(parseChangeFeedRow(row({ Action: spelling })), { ...good, action });
    });
  }
  for (const [spelling, state] of [
    ['Current', 'current'],
    ['Replaced', 'replaced'],
    ['replaced', 'replaced'],
    [' DELETED ', 'deleted'],
  ] as const) {
    it(`State ${JSON.stringify(spelling)} is ${state}`, () => {
      assert.deepEqual(parseChangeFeedRow(row({ State: spelling })), { ...good, state });
    });
  }
  it('an empty or unknown action or state is a bad row that says which', () => {
    assert.equal(bad(parseChangeFeedRow(row({ Action: '' }))).reason, 'Action "" is unknown');
    assert.equal(bad(parseChangeFeedRow(row({ Action: 'Upsert' }))).reason, 'Action "Upsert" is unknown');
    assert.equal(bad(parseChangeFeedRow(row({ Action: 3 }))).reason, 'Action 3 is unknown');
    assert.equal(bad(parseChangeFeedRow(row({ Action: undefined }))).reason, 'Action is missing');
    assert.equal(bad(parseChangeFeedRow(row({ State: '' }))).reason, 'State "" is unknown');
    assert.equal(bad(parseChangeFeedRow(row({ State: null }))).reason, 'State is missing');
  });
});

describe('parseChangeFeedRow: property names and values', () => {
  it('reads camelCase names too, and takes the first non-null value of a name printed twice', () => {
    const camel = {
      sequence: 7,
      studyInstanceUid: '1.2.3',
      seriesInstanceUid: '1.2.3.4',
      sopInstanceUid: '1.2.3.4.5',
      action: 'create',
      state: 'current',
      timestamp: good.timestamp,
    };
    assert.deepEqual(parseChangeFeedRow(camel), good);
    assert.deepEqual(parseChangeFeedRow({ ...row(), action: 'update' }), good, 'the first non-null spelling wins');
    assert.deepEqual(parseChangeFeedRow({ ...row({ Action: null }), action: 'update' }), { ...good, action: 'update' });
  });

  it('keeps partition, file path and metadata when present', () => {
    const metadata = { '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] } };
    assert.deepEqual(parseChangeFeedRow(row({ PartitionName: ' Part1 ', FilePath: 'a/b.dcm', Metadata: metadata })), {
      ...good,
      partitionName: 'Part1',
      filePath: 'a/b.dcm',
      metadata,
    });
    assert.deepEqual(parseChangeFeedRow(row({ PartitionName: undefined, FilePath: 7, Metadata: null })), good);
    // A blank partition name is not the default partition: the row is recorded, never put in another tenant's study.
    assert.equal(
      bad(parseChangeFeedRow(row({ PartitionName: '  ' }))).reason,
      'PartitionName "  " is not a partition name',
    );
  });

  it('trims UIDs and takes sequences written as digits', () => {
    assert.deepEqual(parseChangeFeedRow(row({ Sequence: ' 7 ', StudyInstanceUid: ' 1.2.3 ' })), good);
    assert.deepEqual(parseChangeFeedRow(row({ Sequence: 0 })), { ...good, sequence: 0 });
    assert.deepEqual(parseChangeFeedRow(row({ Sequence: '0' })), { ...good, sequence: 0 });
    assert.deepEqual(parseChangeFeedRow(row({ Sequence: '123456789012345' })), {
      ...good,
      sequence: 123456789012345,
    });
  });

  for (const sequence of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, '7a', 'a7', '-7', '1234567890123456', '', true]) {
    it(`Sequence ${JSON.stringify(sequence)} is not a number`, () => {
      const parsed = bad(parseChangeFeedRow(row({ Sequence: sequence })));
      assert.equal(parsed.reason, 'Sequence is not a number');
      assert.equal(parsed.sequence, undefined);
    });
  }

  it('a bad row keeps what could be read, the raw row, and every problem, in order', () => {
    const raw = row({ Sequence: null, SeriesInstanceUid: ' ', Action: 'x', State: 'y', Timestamp: 'soon' });
    assert.deepEqual(parseChangeFeedRow(raw), {
      kind: 'bad',
      study: '1.2.3',
      instance: '1.2.3.4.5',
      raw,
      reason:
        'Sequence is missing; SeriesInstanceUid " " is not a UID; Action "x" is unknown; State "y" is unknown; Timestamp "soon" is not an ISO-8601 date-time with a time zone',
    });
    const missingUids = row({ StudyInstanceUid: '', SopInstanceUid: undefined, Metadata: [1] });
    assert.deepEqual(parseChangeFeedRow(missingUids), {
      kind: 'bad',
      sequence: 7,
      timestamp: good.timestamp,
      series: '1.2.3.4',
      raw: missingUids,
      reason:
        'StudyInstanceUid is missing or empty; SopInstanceUid is missing or empty; Metadata is not a DICOM JSON object',
    });
    assert.deepEqual(parseChangeFeedRow(row({ Timestamp: undefined })), {
      kind: 'bad',
      sequence: 7,
      study: '1.2.3',
      series: '1.2.3.4',
      instance: '1.2.3.4.5',
      raw: row({ Timestamp: undefined }),
      reason: 'Timestamp is missing',
    });
  });

  for (const raw of [null, undefined, 'row', 7, [row()]]) {
    it(`${JSON.stringify(raw) ?? 'undefined'} is not a JSON object`, () => {
      assert.deepEqual(parseChangeFeedRow(raw), { kind: 'bad', raw, reason: 'row is not a JSON object' });
    });
  }

  it('isBadRow tells bad rows from entries', () => {
    assert.equal(isBadRow(parseChangeFeedRow(row())), false);
    assert.equal(isBadRow(parseChangeFeedRow(null)), true);
    assert.equal(isBadRow({ ...(parseChangeFeedRow(row()) as object), kind: 'other' } as never), false);
  });
});
