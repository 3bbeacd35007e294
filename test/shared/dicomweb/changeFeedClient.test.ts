import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuthorizationProvider } from '../../../shared/auth/authorizationProvider.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import type { ChangeFeedEntry } from '../../../shared/dicomweb/changeFeedEntry.js';
import { isBadRow, type BadChangeFeedRow } from '../../../shared/dicomweb/changeFeedRow.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { feedRow, startFakeChangeFeed, timestampAt, type FakeChangeFeed } from '../../support/fakeChangeFeed.js';

const secretToken = 'Bearer s3cr3t-token-value';
const authorization: AuthorizationProvider = {
  authorizationFor: async () => secretToken,
  invalidate: () => undefined,
};

/** What reaches the poller once the transport's retries are spent (test/hostile/transport*.test.ts tests the retries). */
const noRetries = { fallbackBudgetMs: 0 };

describe('change feed client', () => {
  let feed: FakeChangeFeed;
  const client = (version: 'v1' | 'v2') =>
    createChangeFeedClient(
      createServerHttpClient({ baseUrl: feed.baseUrl, authorization, timeoutMs: 5_000 }),
      version,
      undefined,
      noRetries,
    );

  before(async () => {
    feed = await startFakeChangeFeed();
  });
  after(async () => {
    await feed.close();
  });
  beforeEach(() => {
    feed.rows.length = 0;
    feed.requests.length = 0;
    feed.emptyLatest = 'zero';
  });

  it('parses PascalCase and camelCase rows, whatever the case of the enum values', async () => {
    feed.add(
      {
        sequence: 1,
        timestamp: timestampAt(1),
        body: feedRow({ sequence: 1, timestamp: timestampAt(1), study: '1.2.3' }),
      },
      {
        sequence: 2,
        timestamp: timestampAt(2),
        body: feedRow(
          {
            sequence: 2,
            timestamp: timestampAt(2),
            study: '1.2.4',
            action: 'Delete',
            state: 'DELETED',
            partitionName: 'p1',
          },
          'camel',
        ),
      },
    );
    const rows = await client('v1').readV1(0, 10);
    assert.deepEqual(rows, [
      {
        sequence: 1,
        studyInstanceUid: '1.2.3',
        seriesInstanceUid: '1.2.3.1',
        sopInstanceUid: '1.2.3.1.1',
        action: 'create',
        state: 'current',
        timestamp: timestampAt(1),
        partitionName: 'Microsoft.Default',
        filePath: 'files/1.dcm',
      },
      {
        sequence: 2,
        studyInstanceUid: '1.2.4',
        seriesInstanceUid: '1.2.4.1',
        sopInstanceUid: '1.2.4.1.2',
        action: 'delete',
        state: 'deleted',
        timestamp: timestampAt(2),
        partitionName: 'p1',
        filePath: 'files/2.dcm',
      },
    ] satisfies ChangeFeedEntry[]);
    assert.deepEqual(feed.requests[0], {
      path: '/v1/changefeed',
      query: { offset: '0', limit: '10', includeMetadata: 'false' },
      authorization: secretToken,
    });
  });

  it('keeps metadata that is a DICOM JSON object', async () => {
    const metadata = { '00100020': { vr: 'LO', Value: ['PID-1'] } };
    const body = { ...feedRow({ sequence: 1, timestamp: timestampAt(1), study: '1.2.3' }), Metadata: metadata };
    feed.add({ sequence: 1, timestamp: timestampAt(1), body });
    const [row] = await client('v2').readV2('1970-01-01T00:00:00Z', 0, 10);
    assert.ok(row && !isBadRow(row));
    assert.deepEqual(row.metadata, metadata);
  });

  it('reports bad rows next to the good ones instead of failing the page', async () => {
    const good = (sequence: number) =>
      feedRow({ sequence, timestamp: timestampAt(sequence), study: `1.2.${sequence}` });
    const bodies: unknown[] = [
      good(1),
      { ...good(2), StudyInstanceUid: undefined },
      { ...good(3), SopInstanceUid: '  ' },
      { ...good(4), Action: 'move' },
      { ...good(5), State: 'gone' },
      { ...good(6), Sequence: 'six' },
      { ...good(7), Metadata: ['not', 'an', 'object'] },
      'not a row',
      good(9),
    ];
    bodies.forEach((body, index) => feed.add({ sequence: index + 1, timestamp: timestampAt(index + 1), body }));
    const rows = await client('v2').readV2('1970-01-01T00:00:00Z', 0, 100);
    assert.equal(rows.length, 9);
    assert.deepEqual(
      rows.filter((row) => !isBadRow(row)).map((row) => row.sequence),
      [1, 9],
    );
    const bad = rows.filter(isBadRow);
    const reasonOf = (sequence: number | undefined) => bad.find((row) => row.sequence === sequence)?.reason;
    assert.match(reasonOf(2) ?? '', /StudyInstanceUid/);
    assert.match(reasonOf(3) ?? '', /SopInstanceUid/);
    assert.match(reasonOf(4) ?? '', /Action "move"/);
    assert.match(reasonOf(5) ?? '', /State "gone"/);
    assert.match(reasonOf(7) ?? '', /Metadata/);
    const noSequence = bad.filter((row) => row.sequence === undefined);
    assert.deepEqual(
      noSequence.map((row) => row.reason),
      ['Sequence is not a number', 'row is not a JSON object'],
    );
    // What could be read is kept for the failure record and for paging; the raw row for replay.
    const missingSop = bad.find((row) => row.sequence === 3) as BadChangeFeedRow;
    assert.equal(missingSop.study, '1.2.3');
    assert.equal(missingSop.timestamp, timestampAt(3));
    assert.deepEqual(missingSop.raw, bodies[2]);
  });

  it('asks v2 for a time window with an offset', async () => {
    await client('v2').readV2(timestampAt(5), 3, 50, timestampAt(9));
    assert.deepEqual(feed.requests[0]?.query, {
      startTime: timestampAt(5),
      offset: '3',
      limit: '50',
      endTime: timestampAt(9),
      includeMetadata: 'false',
    });
  });

  it('latest() answers undefined for an empty feed, in each way the service says so', async () => {
    for (const emptyLatest of ['zero', 204, 404] as const) {
      feed.emptyLatest = emptyLatest;
      assert.equal(await client('v1').latest(), undefined, `empty feed answered ${emptyLatest}`);
    }
    feed.add({
      sequence: 7,
      timestamp: timestampAt(7),
      body: feedRow({ sequence: 7, timestamp: timestampAt(7), study: '1.7' }),
    });
    const latest = await client('v2').latest();
    assert.equal(latest?.sequence, 7);
    assert.equal(feed.requests.at(-1)?.path, '/v2/changefeed/latest');
  });

  it('turns 5xx and 429 into RetryableError and refusals into NonRetryableError naming the path, never the token', async () => {
    const cases: [number, typeof RetryableError | typeof NonRetryableError][] = [
      [500, RetryableError],
      [503, RetryableError],
      [429, RetryableError],
      [400, NonRetryableError],
      [401, NonRetryableError],
      [403, NonRetryableError],
      [404, NonRetryableError],
    ];
    for (const [status, kind] of cases) {
      // 401 is retried once by the HTTP client after refreshing the token.
      feed.failNext(status, status === 401 ? 2 : 1);
      const error = await client('v2')
        .readV2('1970-01-01T00:00:00Z', 0, 10)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      assert.ok(error instanceof kind, `HTTP ${status} gave ${String(error)}`);
      assert.match(error.message, new RegExp(`/v2/changefeed returned HTTP ${status}`));
      assert.doesNotMatch(error.message, /s3cr3t/);
    }
  });

  it('turns a connection failure into RetryableError', async () => {
    const closed = await startFakeChangeFeed();
    await closed.close();
    const http = createServerHttpClient({ baseUrl: closed.baseUrl, authorization, timeoutMs: 2_000 });
    await assert.rejects(createChangeFeedClient(http, 'v1', undefined, noRetries).readV1(0, 10), (error: unknown) => {
      assert.ok(error instanceof RetryableError);
      assert.match(error.message, /\/v1\/changefeed failed: ECONNREFUSED/);
      assert.doesNotMatch(error.message, /s3cr3t/);
      return true;
    });
  });

  it('a row with bytes that are not UTF-8 is one bad row (recorded, the feed goes on), never a stuck page', async () => {
    // The feed is decoded leniently on purpose: a refused page could never be read past, so the poller would stall on
    // it. A byte that is not UTF-8 becomes U+FFFD, which no UID or partition name admits: that row alone is bad.
    const good = feedRow({ sequence: 5, timestamp: timestampAt(5), study: '1.2.5' });
    const row = JSON.stringify([feedRow({ sequence: 4, timestamp: timestampAt(4), study: '1.2.@@' }), good]);
    const parts = row.split('@@').map((part) => Buffer.from(part));
    feed.answerNext(Buffer.concat(parts.flatMap((part, index) => (index ? [Buffer.from([0xff]), part] : [part]))));
    const rows = await client('v1').readV1(3, 10);
    assert.equal(rows.length, 2);
    const [hostile, fine] = rows;
    assert.ok(hostile && isBadRow(hostile), JSON.stringify(hostile));
    assert.equal(hostile.sequence, 4);
    assert.match(hostile.reason, /StudyInstanceUid "1\.2\.\uFFFD" is not a UID/);
    assert.ok(fine && !isBadRow(fine));
    assert.equal(fine.studyInstanceUid, '1.2.5');
  });
});
