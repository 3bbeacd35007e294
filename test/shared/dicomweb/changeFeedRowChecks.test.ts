import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { misplaced, parseChangeFeedRow } from '../../../shared/dicomweb/changeFeedRow.js';
import { expectBadRow as bad, parsedServiceRow as good, serviceRow as row } from '../../support/changeFeedRows.js';

/**
 * What a change-feed row must be before it may move the poller's position: a partition name by the service's grammar
 * (a wrong one would put a study in another tenant), a timestamp that is a date-time not ahead of this clock (a
 * future one would carry a v2 checkpoint past real rows), long values cut where they name the row; and a row the
 * poller finds misplaced keeps its sequence only as reported, never for paging. The parser's cases of actions, states
 * and property names: changeFeedRow.test.ts.
 */
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
