/**
 * Hostile change-feed rows, one per case, each between two good rows, served by a loopback change feed to the real
 * poller (real HTTP client, Azurite queue, checkpoint and failure tables). Every case asserts its exact outcome:
 * - recorded: one failure record naming the sequence (and what else it can), the reason as expected, both good rows
 *   enqueued, the checkpoint past all three, and a second run that reads nothing and records nothing (not stuck);
 * - normalised: no record, and the row's message says what it should.
 * The tally by outcome is printed at the end (the closing note quotes it).
 * Over 300 lines because most of it is the table of inputs, one per line (as Prettier lays them out).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import type { StorageConnection } from '../../../shared/config/storageConnection.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { createQueueClient, createStorageQueue } from '../../../shared/queue/messageQueue.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { decodeStudyMessage, encodeStudyMessage } from '../../../shared/queue/studyMessageCodec.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import { createTagWarningStore } from '../../../shared/state/tagWarningStore.js';
import { createCheckpointStore } from '../../../shared/state/checkpointStore.js';
import { createFailureStore, type FailureRecord } from '../../../shared/state/failureStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';
import { pollChangeFeed, type PollDependencies } from '../../../shared/sync/poll.js';
import { formatFailures } from '../../../cli/commands/failures.js';
import { feedRow, startFakeChangeFeed, timestampAt } from '../../support/fakeChangeFeed.js';
import { tally } from './tally.js';

type Outcome =
  | { recorded: RegExp; study?: string | RegExp }
  | { normalised: (message: StudyMessage | undefined, raw: Record<string, unknown>) => void };

interface RowCase {
  name: string;
  /** The hostile row: the base row (sequence 2, study 1.2.840.99.2) with these fields replaced (undefined deletes). */
  fields?: Record<string, unknown>;
  /** A row that is not built from the base row at all. */
  row?: unknown;
  version?: 'v1' | 'v2';
  expect: Outcome;
}

const hostileStudy = '1.2.840.99.2';
const digits = (length: number) => '1.' + '2'.repeat(length - 2);
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const esc = '\u001b]0;pwned\u0007\u001b[2J';

const uidCases = (field: string, name: string): RowCase[] => [
  { name: `${name} ".."`, fields: { [field]: '..' }, expect: { recorded: new RegExp(`${name} .*not a UID`) } },
  { name: `${name} "."`, fields: { [field]: '.' }, expect: { recorded: new RegExp(`${name} .*empty component`) } },
  { name: `${name} "1..2"`, fields: { [field]: '1..2' }, expect: { recorded: /empty component/ } },
  {
    // PS3.5 forbids it, but archives hold such UIDs: the study must still reach FHIR, under its UID as it is.
    name: `${name} with a leading zero: accepted as it is`,
    fields: { [field]: '1.02.3' },
    expect: {
      normalised: (m) => {
        const change = m?.changes[0];
        const taken = { StudyInstanceUid: m?.study, SeriesInstanceUid: change?.series, SopInstanceUid: change?.sop };
        assert.equal(taken[field as keyof typeof taken], '1.02.3');
      },
    },
  },
  { name: `${name} a URL`, fields: { [field]: 'http://attacker.example/x' }, expect: { recorded: /only digits/ } },
  { name: `${name} of 65 characters`, fields: { [field]: digits(65) }, expect: { recorded: /65 characters long/ } },
  {
    name: `${name} a number`,
    fields: { [field]: 1.2 },
    expect: { recorded: new RegExp(`${name} 1\\.2 is not a UID`) },
  },
];

const cases: RowCase[] = [
  ...uidCases('StudyInstanceUid', 'StudyInstanceUid'),
  ...uidCases('SeriesInstanceUid', 'SeriesInstanceUid'),
  ...uidCases('SopInstanceUid', 'SopInstanceUid'),
  {
    name: 'StudyInstanceUid of 70,000 characters (was a queue 413 on every run)',
    fields: { StudyInstanceUid: digits(70_000) },
    expect: { recorded: /70000 characters long/, study: /^1\.2{100}/ },
  },
  {
    name: 'StudyInstanceUid with a trailing dot',
    fields: { StudyInstanceUid: '1.2.' },
    expect: { recorded: /empty component/ },
  },
  {
    name: 'StudyInstanceUid with U+FFFD',
    fields: { StudyInstanceUid: '1.2.\uFFFD' },
    expect: { recorded: /only digits/ },
  },
  {
    name: 'StudyInstanceUid with Arabic-Indic digits',
    fields: { StudyInstanceUid: '١.٢' },
    expect: { recorded: /only digits/ },
  },
  {
    name: 'StudyInstanceUid with terminal escapes',
    fields: { StudyInstanceUid: `1.2${esc}` },
    expect: { recorded: /only digits/ },
  },
  {
    name: 'StudyInstanceUid as an array',
    fields: { StudyInstanceUid: ['1.2'] },
    expect: { recorded: /StudyInstanceUid \["1\.2"\] is not a UID/ },
  },
  {
    name: 'StudyInstanceUid missing',
    fields: { StudyInstanceUid: undefined },
    expect: { recorded: /StudyInstanceUid is missing/ },
  },
  {
    name: 'StudyInstanceUid two values "A\\B"',
    fields: { StudyInstanceUid: '1.2\\1.3' },
    expect: { recorded: /only digits/ },
  },
  {
    name: 'StudyInstanceUid with spaces around',
    fields: { StudyInstanceUid: ` ${hostileStudy} ` },
    expect: { normalised: (m) => assert.equal(m?.study, hostileStudy) },
  },
  { name: 'PartitionName ".."', fields: { PartitionName: '..' }, expect: { recorded: /PartitionName .*dots only/ } },
  { name: 'PartitionName "."', fields: { PartitionName: '.' }, expect: { recorded: /PartitionName .*dots only/ } },
  {
    name: 'PartitionName with a slash',
    fields: { PartitionName: 'a/../b' },
    expect: { recorded: /is not a partition name/ },
  },
  {
    name: 'PartitionName percent-encoded dots',
    fields: { PartitionName: '%2e%2e' },
    expect: { recorded: /is not a partition name/ },
  },
  {
    name: 'PartitionName with a space',
    fields: { PartitionName: 'tenant a' },
    expect: { recorded: /is not a partition name/ },
  },
  {
    name: 'PartitionName of 65 characters',
    fields: { PartitionName: 'p'.repeat(65) },
    expect: { recorded: /is not a partition name/ },
  },
  {
    name: 'PartitionName of 40,000 characters (was PropertyValueTooLarge)',
    fields: { PartitionName: 'p'.repeat(40_000) },
    expect: { recorded: /40000 characters/ },
  },
  {
    name: 'PartitionName with a NUL',
    fields: { PartitionName: 'tenant\u0000' },
    expect: { recorded: /is not a partition name/ },
  },
  {
    name: 'PartitionName a number',
    fields: { PartitionName: 7 },
    expect: { recorded: /PartitionName 7 is not a partition name/ },
  },
  {
    name: 'PartitionName of another tenant',
    fields: { PartitionName: 'Tenant-B_2.x' },
    expect: { normalised: (m) => assert.equal(m?.partition, 'Tenant-B_2.x') },
  },
  {
    name: 'PartitionName empty',
    fields: { PartitionName: '' },
    expect: { normalised: (m) => assert.equal(m?.partition, undefined) },
  },
  {
    name: 'Timestamp "1" (was a stuck poller)',
    fields: { Timestamp: '1' },
    expect: { recorded: /Timestamp "1" is not an ISO-8601/ },
  },
  {
    name: 'Timestamp 9999-12-31 (jumped the checkpoint)',
    fields: { Timestamp: '9999-12-31T00:00:00Z' },
    expect: { recorded: /lies in the future/ },
  },
  { name: 'Timestamp an hour ahead', fields: { Timestamp: inAnHour() }, expect: { recorded: /lies in the future/ } },
  {
    name: 'Timestamp without a time zone',
    fields: { Timestamp: '2024-01-01T00:00:02' },
    expect: { recorded: /not an ISO-8601/ },
  },
  { name: 'Timestamp a date only', fields: { Timestamp: '2024-01-01' }, expect: { recorded: /not an ISO-8601/ } },
  {
    name: 'Timestamp month 13',
    fields: { Timestamp: '2024-13-01T00:00:00Z' },
    expect: { recorded: /not a valid date-time/ },
  },
  {
    name: 'Timestamp February 30',
    fields: { Timestamp: '2024-02-30T00:00:00Z' },
    expect: { recorded: /not a valid date-time/ },
  },
  {
    name: 'Timestamp hour 25',
    fields: { Timestamp: '2024-01-01T25:00:00Z' },
    expect: { recorded: /not a valid date-time/ },
  },
  {
    name: 'Timestamp of 40,000 characters',
    fields: { Timestamp: `2024-01-01T00:00:00Z${'x'.repeat(40_000)}` },
    expect: { recorded: /40020 characters/ },
  },
  {
    name: 'Timestamp a number',
    fields: { Timestamp: 1_700_000_000 },
    expect: { recorded: /Timestamp 1700000000 is not a date-time/ },
  },
  { name: 'Timestamp missing', fields: { Timestamp: undefined }, expect: { recorded: /Timestamp is missing/ } },
  {
    name: 'Timestamp earlier than the window (v2 order broken)',
    fields: { Timestamp: '2020-01-01T00:00:00Z' },
    expect: { recorded: /earlier than the rows before it/ },
  },
  {
    name: 'Timestamp with a +05:30 offset',
    fields: { Timestamp: '2024-01-01T05:30:02.5+05:30' },
    expect: { normalised: (m) => assert.equal(m?.study, hostileStudy) },
  },
  {
    name: 'Sequence above latest (jumped the checkpoint)',
    fields: { Sequence: 1_000_000_000_000 },
    expect: { recorded: /above the feed's latest \(3\)/ },
  },
  {
    name: 'Sequence outside the v1 window asked for',
    version: 'v1',
    fields: { Sequence: 1_000_000 },
    expect: { recorded: /outside the window asked for \(0, 10\]/ },
  },
  { name: 'Sequence negative', fields: { Sequence: -1 }, expect: { recorded: /Sequence is not a number/ } },
  { name: 'Sequence a fraction', fields: { Sequence: 1.5 }, expect: { recorded: /Sequence is not a number/ } },
  { name: 'Sequence beyond 2^53', fields: { Sequence: 2 ** 60 }, expect: { recorded: /Sequence is not a number/ } },
  { name: 'Sequence "2abc"', fields: { Sequence: '2abc' }, expect: { recorded: /Sequence is not a number/ } },
  {
    name: 'Sequence as the string "2"',
    fields: { Sequence: '2' },
    expect: { normalised: (m) => assert.equal(m?.maxSequence, 2) },
  },
  { name: 'Action "move"', fields: { Action: 'move' }, expect: { recorded: /Action "move" is unknown/ } },
  {
    name: 'Action of 40,000 characters',
    fields: { Action: 'a'.repeat(40_000) },
    expect: { recorded: /Action "a+"… \(40000 characters\) is unknown/ },
  },
  {
    name: 'Action "CREATE"',
    fields: { Action: 'CREATE' },
    expect: { normalised: (m) => assert.equal(m?.changes[0]?.action, 'create') },
  },
  { name: 'State "gone"', fields: { State: 'gone' }, expect: { recorded: /State "gone" is unknown/ } },
  {
    name: 'State "Replaced"',
    fields: { State: 'Replaced' },
    expect: { normalised: (m) => assert.equal(m?.changes[0]?.state, 'replaced') },
  },
  { name: 'Metadata a string', fields: { Metadata: 'x' }, expect: { recorded: /Metadata is not a DICOM JSON object/ } },
  {
    name: 'FilePath of 40,000 characters',
    fields: { FilePath: 'f'.repeat(40_000) },
    expect: { normalised: (m) => assert.equal(m?.study, hostileStudy) },
  },
  { name: 'row a string', row: 'row', expect: { recorded: /row is not a JSON object/ } },
  { name: 'row null', row: null, expect: { recorded: /row is not a JSON object/ } },
  {
    name: 'row an array',
    row: [feedRow({ sequence: 2, timestamp: timestampAt(2), study: hostileStudy })],
    expect: { recorded: /row is not a JSON object/ },
  },
  {
    name: 'row in camelCase',
    row: feedRow({ sequence: 2, timestamp: timestampAt(2), study: hostileStudy }, 'camel'),
    expect: { normalised: (m) => assert.equal(m?.changes[0]?.sop, `${hostileStudy}.1.2`) },
  },
];

describe('hostile change-feed rows: recorded or normalised, never stuck, never skipping real rows', () => {
  let azurite: RunningAzurite;
  let storage: StorageConnection;
  const outcomes = tally('change-feed rows');

  before(async () => {
    azurite = await startAzurite();
    storage = { kind: 'connectionString', connectionString: azurite.connectionString };
  });
  after(async () => {
    outcomes.print();
    await azurite.close();
  });

  for (const testCase of cases) {
    it(testCase.name, async (t) => {
      const started = performance.now();
      const version = testCase.version ?? 'v2';
      const feed = await startFakeChangeFeed();
      t.after(() => feed.close());
      const good = [1, 3].map((sequence) => ({
        sequence,
        timestamp: timestampAt(sequence),
        body: feedRow({ sequence, timestamp: timestampAt(sequence), study: `1.2.840.99.${sequence}` }),
      }));
      const base = feedRow({ sequence: 2, timestamp: timestampAt(2), study: hostileStudy });
      for (const [field, value] of Object.entries(testCase.fields ?? {})) {
        if (value === undefined) delete base[field];
        else base[field] = value;
      }
      const hostile = 'row' in testCase ? testCase.row : base;
      feed.add(good[0]!, { sequence: 2, timestamp: timestampAt(2), body: hostile }, good[1]!);

      const suffix = randomBytes(4).toString('hex');
      const queueName = `hostile-${suffix}`;
      const failures = createFailureStore(await createTableClient(storage, `fail${suffix}`));
      const checkpoints = createCheckpointStore(await createTableClient(storage, `cp${suffix}`), {
        endpoint: feed.baseUrl,
      });
      const http = createServerHttpClient({ baseUrl: feed.baseUrl, authorization: noAuthorization });
      const deps: PollDependencies = {
        feed: createChangeFeedClient(http, version),
        checkpoints,
        queue: createStorageQueue(storage, queueName),
        failures,
        now: Date.now,
      };
      const options = { version, pageSize: 10, maxRunMs: 30_000 } as const;
      const run = await pollChangeFeed(deps, options);
      const queue = createQueueClient(storage, queueName);
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      const messages = receivedMessageItems.map((item) => decodeStudyMessage(item.messageText));
      const records = await failures.list();

      assert.equal(run.caughtUp, true);
      assert.equal(run.checkpoint?.sequence, 3, 'the checkpoint moved past all three rows');
      const studies = messages.map((message) => message.study);
      assert.ok(studies.includes('1.2.840.99.1') && studies.includes('1.2.840.99.3'), 'the good rows are enqueued');

      if ('recorded' in testCase.expect) {
        assert.equal(records.length, 1, `one failure record, got ${records.length}`);
        const [record] = records as [FailureRecord];
        assert.equal(record.category, 'bad-change-feed-entry');
        assert.match(record.reason, testCase.expect.recorded);
        if (hostile !== null && typeof hostile === 'object' && !Array.isArray(hostile)) {
          const sequence = (hostile as Record<string, unknown>).Sequence;
          if (Number.isSafeInteger(sequence) && (sequence as number) >= 0) assert.equal(record.sequence, sequence);
        }
        if (testCase.expect.study !== undefined) assert.match(record.study ?? '', new RegExp(testCase.expect.study));
        for (const field of [record.study, record.series, record.instance]) assert.ok((field ?? '').length <= 256);
        assert.equal(studies.length, 2, 'nothing of the bad row is enqueued');
        // What `dicom-cast failures list` prints: no terminal escape from the data.
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(formatFailures(records), /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
        outcomes.add('recorded with its location', performance.now() - started);
      } else {
        assert.equal(records.length, 0, records.map((record) => record.reason).join('; '));
        const message = messages.find((candidate) => !['1.2.840.99.1', '1.2.840.99.3'].includes(candidate.study));
        testCase.expect.normalised(message, base);
        outcomes.add('normalised', performance.now() - started);
      }

      // Not stuck and not repeated: the next run reads nothing new and records nothing more.
      const again = await pollChangeFeed(deps, options);
      assert.deepEqual([again.entriesRead, again.badEntries, again.caughtUp], [0, 0, true]);
      assert.equal((await failures.list()).length, records.length);
    });
  }

  it('a latest of 1e15 (was 196,567 empty requests a minute): gap walking bounded per run, real rows in the gap found', async (t) => {
    const started = performance.now();
    const feed = await startFakeChangeFeed();
    t.after(() => feed.close());
    const row = (sequence: number) => ({
      sequence,
      timestamp: timestampAt(sequence % 1000),
      body: feedRow({ sequence, timestamp: timestampAt(sequence % 1000), study: `1.2.840.98.${sequence}` }),
    });
    feed.add(row(1), row(2), row(3), row(20_000), row(1e15));
    const suffix = randomBytes(4).toString('hex');
    const queueName = `gap-${suffix}`;
    const failures = createFailureStore(await createTableClient(storage, `fail${suffix}`));
    const warnings: string[] = [];
    const deps: PollDependencies = {
      feed: createChangeFeedClient(
        createServerHttpClient({ baseUrl: feed.baseUrl, authorization: noAuthorization }),
        'v1',
      ),
      checkpoints: createCheckpointStore(await createTableClient(storage, `cp${suffix}`), { endpoint: feed.baseUrl }),
      queue: createStorageQueue(storage, queueName),
      failures,
      now: Date.now,
      log: (level, message) => {
        if (level === 'warn') warnings.push(message);
      },
    };
    const options = { version: 'v1', pageSize: 100, maxRunMs: 60_000 } as const;
    const pages = () => feed.requests.filter((request) => request.path === '/v1/changefeed').length;

    const first = await pollChangeFeed(deps, options);
    assert.equal(first.gapWalkCapped, true);
    assert.equal(first.caughtUp, true, 'no continuation message: the next timer tick carries on');
    assert.ok(pages() <= 502, `${pages()} page requests in one run`);
    assert.equal(
      first.checkpoint?.sequence,
      20_000 + 301 * 100,
      '199 empty windows before the row at 20,000 and 301 after it: 500 in all',
    );
    assert.match(warnings.join('\n'), /500 empty windows this run; the next run carries on/);
    const { receivedMessageItems } = await createQueueClient(storage, queueName).receiveMessages({
      numberOfMessages: 32,
    });
    const studies = receivedMessageItems.map((item) => decodeStudyMessage(item.messageText).study).sort();
    assert.deepEqual(studies, ['1.2.840.98.1', '1.2.840.98.2', '1.2.840.98.20000', '1.2.840.98.3']);

    feed.requests.length = 0;
    const second = await pollChangeFeed(deps, options);
    assert.ok(pages() <= 501, `${pages()} page requests in the second run`);
    assert.equal(second.checkpoint?.sequence, 20_000 + 801 * 100);
    assert.deepEqual(await failures.list(), []);
    outcomes.add('bounded per run with a warning', performance.now() - started);
  });

  it('a failure record and a tag warning with 40,000-character fields are written, capped (was PropertyValueTooLarge)', async () => {
    const suffix = randomBytes(4).toString('hex');
    const failures = createFailureStore(await createTableClient(storage, `fail${suffix}`));
    const long = '9'.repeat(40_000);
    await failures.record({
      category: 'bad-dicom-data',
      reason: 'r'.repeat(100_000),
      study: long,
      series: long,
      instance: long,
      tag: long,
      payload: { long },
    });
    const [record] = await failures.list();
    assert.ok(record);
    for (const field of [record.study, record.series, record.instance, record.tag]) {
      assert.ok(field !== undefined && field.length <= 256 && field.endsWith('… (40000 characters)'), field);
    }
    assert.ok(record.reason.length <= 8_000 && record.reason.endsWith('(100000 characters)'));
    assert.deepEqual(record.payload, { long }, 'the payload is kept whole, in chunks');

    const warnings = createTagWarningStore(await createTableClient(storage, `warn${suffix}`));
    await warnings.record(long, [
      {
        severity: 'warning',
        study: long,
        tag: '(0020,0011)',
        keyword: 'SeriesNumber',
        value: long,
        reason: 'not an unsigned integer',
      },
    ]);
    const [warning] = await warnings.list();
    assert.ok(warning && warning.values[0]!.length <= 256 && warning.study.length <= 256);
    outcomes.add('recorded with its location');
  });

  it('a study message that cannot fit in a queue message is refused as bad data, not sent for a 413', () => {
    assert.throws(
      () => encodeStudyMessage({ study: '1'.repeat(70_000), changes: [], maxSequence: 1 }),
      (error: unknown) =>
        error instanceof NonRetryableError &&
        error.category === 'bad-change-feed-entry' &&
        /cannot be made to fit in a queue message/.test(error.message),
    );
    outcomes.add('recorded with its location');
  });

  const envelope = (payload: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ dicomCast: { version: 1, kind: 'study', payload } })).toString('base64');
  const change = { series: '1.2.3.1', sop: '1.2.3.1.1', action: 'create', sequence: 1, state: 'current' };
  const messageCases: { name: string; body: unknown; reason: RegExp }[] = [
    {
      name: 'queue message naming study ".."',
      body: envelope({ study: '..', changes: [change], maxSequence: 1 }),
      reason: /payload\.study: .*empty component/,
    },
    {
      name: 'queue message naming study "."',
      body: envelope({ study: '.', changes: [change], maxSequence: 1 }),
      reason: /payload\.study: .*empty component/,
    },
    {
      name: 'queue message naming partition ".."',
      body: envelope({ study: '1.2.3', partition: '..', changes: [change], maxSequence: 1 }),
      reason: /payload\.partition: .*dots only/,
    },
    {
      name: 'queue message naming instance "http://…"',
      body: envelope({ study: '1.2.3', changes: [{ ...change, sop: 'http://attacker.example' }], maxSequence: 1 }),
      reason: /payload\.changes\.0\.sop: .*only digits/,
    },
    {
      name: 'queue message with bytes that are not UTF-8',
      body: Buffer.concat([
        Buffer.from('{"dicomCast":{"payload":{"study":"1.2'),
        Buffer.from([0xff]),
        Buffer.from('"}}}'),
      ]),
      reason: /not valid UTF-8/,
    },
  ];
  for (const testCase of messageCases) {
    it(testCase.name, () => {
      assert.throws(
        () => decodeStudyMessage(testCase.body),
        (error: unknown) => error instanceof NonRetryableError && testCase.reason.test(error.message),
      );
      outcomes.add('recorded with its location');
    });
  }
});
