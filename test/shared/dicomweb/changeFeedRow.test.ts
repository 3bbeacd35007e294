import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBadRow, misplaced, parseChangeFeedRow, type ChangeFeedRow } from '../../../shared/dicomweb/changeFeedRow.js';

/**
 * The change-feed row parser, case by case. An `update` row parsed as anything else loses a demographics change
 * (the writer applies PatientBirthDate only for updates), so every spelling the service may print is pinned here.
 */
const row = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  Sequence: 7,
  StudyInstanceUid: '1.2.3',
  SeriesInstanceUid: '1.2.3.4',
  SopInstanceUid: '1.2.3.4.5',
  Action: 'Create',
  State: 'Current',
  Timestamp: '2024-01-01T00:00:07.1234567+00:00',
  ...overrides,
});

const good = {
  sequence: 7,
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: '1.2.3.4',
  sopInstanceUid: '1.2.3.4.5',
  action: 'create',
  state: 'current',
  timestamp: '2024-01-01T00:00:07.1234567+00:00',
};

function bad(parsed: ChangeFeedRow) {
  assert.ok(isBadRow(parsed), `expected a bad row, got ${JSON.stringify(parsed)}`);
  return parsed;
}

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

describe('parseChangeFeedRow: partition names', () => {
  it('an empty or null PartitionName is the default partition', () => {
    assert.deepEqual(parseChangeFeedRow(row({ PartitionName: '' })), good);
    assert.deepEqual(parseChangeFeedRow(row({ PartitionName: null })), good);
  });

  it('a partition name outside the service grammar is a bad row that says why', () => {
    assert.equal(
      bad(parseChangeFeedRow(row({ PartitionName: 'radiology dept' }))).reason,
      'PartitionName "radiology dept" is not a partition name (1-64 characters of A-Z, a-z, 0-9, "_", ".", "-")',
    );
    assert.equal(
      bad(parseChangeFeedRow(row({ PartitionName: '..' }))).reason,
      'PartitionName ".." is not a usable partition name (dots only)',
    );
    assert.equal(bad(parseChangeFeedRow(row({ PartitionName: 7 }))).reason, 'PartitionName 7 is not a partition name');
  });
});

describe('parseChangeFeedRow: timestamps', () => {
  const hour = 60 * 60 * 1000;

  it('a timestamp that is not a string, or blank, is a bad row naming the value', () => {
    assert.equal(bad(parseChangeFeedRow(row({ Timestamp: 7 }))).reason, 'Timestamp 7 is not a date-time');
    assert.equal(bad(parseChangeFeedRow(row({ Timestamp: ' ' }))).reason, 'Timestamp " " is not a date-time');
  });

  it("a timestamp ahead of this machine's clock is a bad row, and its timestamp is not kept for paging", () => {
    const ahead = new Date(Date.now() + hour).toISOString();
    const parsed = bad(parseChangeFeedRow(row({ Timestamp: ahead })));
    assert.equal(parsed.reason, `Timestamp "${ahead}" lies in the future (more than 10 minutes ahead of this clock)`);
    assert.equal(parsed.timestamp, undefined);
    assert.equal(parsed.sequence, 7);
  });

  it('the clock given as `now` decides what lies in the future', () => {
    const rowTime = Date.parse(good.timestamp);
    assert.deepEqual(parseChangeFeedRow(row(), { now: rowTime }), good);
    const parsed = bad(parseChangeFeedRow(row(), { now: rowTime - hour }));
    assert.match(parsed.reason, /^Timestamp "2024-01-01T00:00:07.1234567\+00:00" lies in the future/);
  });
});

describe('parseChangeFeedRow: bad rows name long values shortened', () => {
  it('a UID of more than 128 characters is kept cut to 128 with an ellipsis; one of 128 is kept whole', () => {
    const long = '1.'.repeat(100) + '1';
    const parsed = bad(parseChangeFeedRow(row({ StudyInstanceUid: long })));
    assert.equal(parsed.study, `${long.slice(0, 128)}…`);
    assert.equal(parsed.reason, 'StudyInstanceUid is 201 characters long (a UID has at most 64)');
    assert.equal((parsed.raw as { StudyInstanceUid: string }).StudyInstanceUid, long);
    const exact = long.slice(0, 128);
    assert.equal(bad(parseChangeFeedRow(row({ SeriesInstanceUid: exact }))).series, exact);
    assert.equal(bad(parseChangeFeedRow(row({ SopInstanceUid: `${exact}1` }))).instance, `${exact}…`);
  });
});

describe('misplaced: a row that cannot be where the feed put it', () => {
  it('an entry becomes a bad row whose sequence is only reported, never a paging position', () => {
    const entry = parseChangeFeedRow(row());
    assert.deepEqual(misplaced(entry, 'Sequence 7 lies outside the window asked for (7, 10]'), {
      kind: 'bad',
      reportedSequence: 7,
      study: '1.2.3',
      series: '1.2.3.4',
      instance: '1.2.3.4.5',
      raw: entry,
      reason: 'Sequence 7 lies outside the window asked for (7, 10]',
    });
  });

  it('a bad row keeps what it had but its sequence (reported instead) and its timestamp; both reasons are named', () => {
    const raw = row({ SopInstanceUid: 'x' });
    const parsed = bad(parseChangeFeedRow(raw));
    assert.equal(parsed.timestamp, good.timestamp);
    assert.deepEqual(misplaced(parsed, "Sequence 7 is above the feed's latest (5)"), {
      kind: 'bad',
      reportedSequence: 7,
      study: '1.2.3',
      series: '1.2.3.4',
      instance: 'x',
      raw,
      reason: 'SopInstanceUid "x" is not a UID (only digits and dots); Sequence 7 is above the feed\'s latest (5)',
    });
  });

  it('a bad row without a sequence reports none', () => {
    const raw = row({ Sequence: 'seven', Action: 'x' });
    assert.deepEqual(misplaced(bad(parseChangeFeedRow(raw)), 'why'), {
      kind: 'bad',
      study: '1.2.3',
      series: '1.2.3.4',
      instance: '1.2.3.4.5',
      raw,
      reason: 'Sequence is not a number; Action "x" is unknown; why',
    });
  });
});
