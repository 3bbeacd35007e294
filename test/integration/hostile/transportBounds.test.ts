import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ServerResponse } from 'node:http';
import type { Bundle } from '@medplum/fhirtypes';
import { noAuthorization } from '../../../shared/auth/index.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import { createFhirClient } from '../../../shared/fhir/fhirClient.js';
import { AdaptiveLimiter } from '../../../shared/http/adaptiveLimiter.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { emptySearch, scriptedServer, transactionResponse, type ScriptedServer } from './transportServers.js';
import { rejectionOf } from '../../support/rejection.js';

const noRetries = { fallbackBudgetMs: 0 };
const bundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } },
    { request: { method: 'PUT', url: 'ImagingStudy/1' }, resource: { resourceType: 'ImagingStudy' } as never },
  ],
};

/** Peak RSS growth (MB) while `work` runs, sampled every 5 ms. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; peakMb: number; seconds: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  try {
    const result = await work();
    return {
      result,
      peakMb: (Math.max(peak, process.memoryUsage().rss) - base) / 2 ** 20,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    clearInterval(timer);
  }
}

/** Answers 200 and then one byte of DICOM JSON every `intervalMs`, never finishing. */
function trickle(intervalMs: number) {
  return (_request: unknown, response: ServerResponse) => {
    response.writeHead(200, { 'Content-Type': 'application/dicom+json' });
    response.write('[');
    const timer = setInterval(() => response.write(' '), intervalMs);
    response.on('close', () => clearInterval(timer));
  };
}

describe('transport: bounded I/O against hostile servers', () => {
  const servers: ScriptedServer[] = [];
  const serve = async (...script: Parameters<typeof scriptedServer>[0]) => {
    const server = await scriptedServer(script);
    servers.push(server);
    return server;
  };
  const fhir = (server: ScriptedServer, limits = {}) =>
    createFhirClient({
      baseUrl: `${server.origin}/fhir`,
      authorization: noAuthorization,
      limits: { retryBudgetMs: 0, requestTimeoutMs: 2_000, ...limits },
      writeLimiter: new AdaptiveLimiter(4),
    });
  const dicomHttp = (server: ScriptedServer, timeoutMs = 2_000, maxResponseBytes = 1024 * 1024) =>
    createServerHttpClient({
      baseUrl: server.origin,
      authorization: noAuthorization,
      timeoutMs,
      maxResponseBytes,
      limitSettings: { timeout: 'DicomCast:RequestTimeoutSeconds', responseBytes: 'DicomWeb:MaxResponseBytes' },
    });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('a metadata body trickling a byte a second fails at the deadline, located and retryable', async () => {
    const server = await serve(trickle(1_000));
    const reader = createStudyReader(dicomHttp(server), 'v2', undefined, { retry: noRetries });
    const { result: error, seconds } = await peakRssGrowth(() => rejectionOf(() => reader.readStudyMetadata('1.2.3')));
    assert.ok(error instanceof RetryableError);
    assert.match(
      error.message,
      /GET http:\/\/127\.0\.0\.1:\d+\/v2\/studies\/1\.2\.3\/metadata failed: timed out \(no complete response within 2 s, DicomCast:RequestTimeoutSeconds\)/,
    );
    assert.match(error.message, /\(study 1\.2\.3\)$/);
    assert.ok(seconds < 4, `held ${seconds} s`);
  });

  it('the streamed metadata read (the writer’s) of a body trickling a byte a second also fails at the deadline, located and retryable', async () => {
    const server = await serve(trickle(1_000));
    const reader = createStudyReader(dicomHttp(server), 'v2', undefined, { retry: noRetries });
    const streamed = async () => {
      if (!reader.forEachStudyInstance) throw new Error('the reader does not stream');
      return await reader.forEachStudyInstance('1.2.3', undefined, () => undefined);
    };
    const { result: error, seconds } = await peakRssGrowth(() => rejectionOf(streamed));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.category, 'transient');
    assert.deepEqual(error.location, { study: '1.2.3' });
    assert.match(
      error.message,
      /^DICOM GET v2\/studies\/1\.2\.3\/metadata failed while reading: GET http:\/\/127\.0\.0\.1:\d+\/v2\/studies\/1\.2\.3\/metadata failed: timed out \(no complete response within 2 s, DicomCast:RequestTimeoutSeconds\) \(study 1\.2\.3\)$/,
    );
    assert.ok(seconds < 4, `held ${seconds} s`);
  });

  it('an endless chunked metadata body is cut off at DicomWeb:MaxMetadataBytes: a located failure, memory bounded', async () => {
    const chunk = Buffer.alloc(64 * 1024, ' ');
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/dicom+json' });
      response.write('[');
      const pump = () => {
        while (response.write(chunk));
      };
      response.on('drain', pump);
      pump();
    });
    const maxMetadataBytes = 64 * 1024 * 1024;
    const reader = createStudyReader(dicomHttp(server, 60_000), 'v2', undefined, {
      retry: noRetries,
      maxMetadataBytes,
    });
    const {
      result: error,
      peakMb,
      seconds,
    } = await peakRssGrowth(() => rejectionOf(() => reader.readStudyMetadata('1.2.4')));
    assert.ok(error instanceof NonRetryableError);
    assert.equal(error.category, 'bad-dicom-data');
    assert.deepEqual(error.location, { study: '1.2.4', setting: 'DicomWeb:MaxMetadataBytes' });
    assert.match(error.message, /exceeds 67108864 bytes \(DicomWeb:MaxMetadataBytes\)/);
    console.log(`endless metadata body, 64 MiB cap: peak RSS +${peakMb.toFixed(0)} MB, ${seconds.toFixed(2)} s`);
    assert.ok(peakMb < 512, `peak RSS growth ${peakMb} MB`);
  });

  it('an endless change-feed body is cut off at DicomWeb:MaxResponseBytes', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      const timer = setInterval(() => response.write(Buffer.alloc(256 * 1024, ' ')), 1);
      response.on('close', () => clearInterval(timer));
    });
    const feed = createChangeFeedClient(dicomHttp(server, 30_000), 'v2', undefined, noRetries);
    const error = await rejectionOf(() => feed.readV2('2026-01-01T00:00:00Z', 0, 10));
    assert.ok(error instanceof NonRetryableError);
    assert.equal(error.category, 'configuration');
    assert.match(
      error.message,
      /GET http:\/\/127\.0\.0\.1:\d+\/v2\/changefeed failed: the response body exceeds 1048576 bytes \(DicomWeb:MaxResponseBytes\)/,
    );
  });

  it('a body that trickles past the deadline is tried twice at most, whatever the budget', async () => {
    const server = await serve(trickle(200));
    const reader = createStudyReader(dicomHttp(server, 1_000), 'v2', undefined, {
      retry: { fallbackBudgetMs: 600_000, sleep: () => Promise.resolve() },
    });
    const started = performance.now();
    const error = await rejectionOf(() => reader.readStudyMetadata('1.2.5'));
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /timed out \(no complete response within 1 s/);
    assert.equal(server.requests.length, 2);
    assert.ok(performance.now() - started < 3_500);
  });

  it("a FHIR server that never answers fails at the deadline (not after undici's 300 s)", async () => {
    const server = await serve(() => undefined);
    const started = performance.now();
    const error = await rejectionOf(() => fhir(server).transaction(bundle));
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /POST http:\/\/127\.0\.0\.1:\d+\/fhir\/? failed: timed out/);
    assert.ok(performance.now() - started < 4_000);
  });

  it('a FHIR response over Fhir:MaxResponseBytes is cut off', async () => {
    const big = {
      ...emptySearch,
      entry: [{ resource: { resourceType: 'Patient', text: 'x'.repeat(2 * 1024 * 1024) } }],
    };
    const server = await serve({ status: 200, body: big });
    const error = await rejectionOf(() => fhir(server, { maxResponseBytes: 1024 * 1024 }).search('Patient', {}));
    assert.ok(error instanceof NonRetryableError);
    assert.match(error.message, /exceeds 1048576 bytes \(Fhir:MaxResponseBytes\)/);
  });

  it('a next link pointing at its own page stops after one request', async () => {
    const server = await serve((request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      response.end(
        JSON.stringify({
          ...emptySearch,
          link: [{ relation: 'next', url: `http://${request.headers.host ?? ''}${request.url ?? ''}` }],
        }),
      );
    });
    const error = await rejectionOf(() => fhir(server).search('Patient', { identifier: 'a|b' }));
    assert.ok(error instanceof NonRetryableError);
    assert.match(error.message, /FHIR search Patient: the next link of page 1 repeats an earlier page; paging stopped/);
    assert.equal(server.requests.length, 1);
  });

  it('next links cycling between two pages stop at the repeat', async () => {
    const server = await serve((request, response) => {
      const onA = !(request.url ?? '').includes('page=b');
      // As real servers do, the next link keeps the query the client sent (the client asks for _count=1000).
      const next = `/fhir/Patient?_count=1000&page=${onA ? 'b' : 'a'}`;
      response.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      response.end(JSON.stringify({ ...emptySearch, link: [{ relation: 'next', url: next }] }));
    });
    const error = await rejectionOf(() => fhir(server).search('Patient', { page: 'a' }));
    assert.match(error.message, /next link of page 2 repeats an earlier page/);
    assert.equal(server.requests.length, 2);
  });

  it('an endless series of new pages stops at Fhir:MaxSearchPages', async () => {
    let page = 0;
    const server = await serve((_request, response) => {
      page += 1;
      response.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      response.end(JSON.stringify({ ...emptySearch, link: [{ relation: 'next', url: `Patient?ct=${page}` }] }));
    });
    const error = await rejectionOf(() => fhir(server, { maxSearchPages: 5 }).search('Patient', {}));
    assert.ok(error instanceof NonRetryableError);
    assert.deepEqual(error.location, { setting: 'Fhir:MaxSearchPages' });
    assert.match(error.message, /more than 5 pages; paging stopped \(Fhir:MaxSearchPages\)/);
    assert.equal(server.requests.length, 5);
  });

  it('a next link to another origin is not followed', async () => {
    const elsewhere = await serve({ status: 200, body: emptySearch });
    const server = await serve({
      status: 200,
      body: { ...emptySearch, link: [{ relation: 'next', url: `${elsewhere.origin}/fhir/Patient?p=2` }] },
    });
    const error = await rejectionOf(() => fhir(server).search('Patient', {}));
    assert.match(error.message, /points to another origin \(http:\/\/127\.0\.0\.1:\d+\); not followed/);
    assert.equal(elsewhere.requests.length, 0);
  });

  for (const status of [301, 302, 307, 308]) {
    it(`a transaction answered ${status} to another origin is an error; nothing is sent there`, async () => {
      const elsewhere = await serve({ status: 200, body: transactionResponse(['201 Created', '200 OK']) });
      const server = await serve({ status, headers: { Location: `${elsewhere.origin}/fhir` } });
      const error = await rejectionOf(() => fhir(server).transaction(bundle));
      assert.ok(error instanceof NonRetryableError);
      assert.equal(error.category, 'configuration');
      assert.match(
        error.message,
        new RegExp(`FHIR transaction answered ${status}: a redirect, which is never followed`),
      );
      assert.equal(elsewhere.requests.length, 0);
      assert.equal(server.requests.length, 1);
    });
  }

  const entryCases: [string, unknown, typeof RetryableError | typeof NonRetryableError, RegExp][] = [
    [
      'an entry refused with 400',
      transactionResponse(['201 Created', '400 Bad Request']),
      NonRetryableError,
      /FHIR transaction entry 1 \(PUT ImagingStudy\/1\) answered 400/,
    ],
    [
      'an entry answered 412',
      transactionResponse(['201 Created', '412 Precondition Failed']),
      RetryableError,
      /entry 1 \(PUT ImagingStudy\/1\) answered 412/,
    ],
    [
      'an entry without a status',
      transactionResponse(['201 Created', '']),
      RetryableError,
      /entry 1 \(PUT ImagingStudy\/1\) has no response status/,
    ],
    [
      'fewer entries than sent',
      transactionResponse(['201 Created']),
      RetryableError,
      /answered 1 entries for the 2 sent/,
    ],
    [
      'a searchset instead of a transaction-response',
      emptySearch,
      RetryableError,
      /without a transaction-response Bundle/,
    ],
    [
      'an OperationOutcome with 200',
      { resourceType: 'OperationOutcome', issue: [] },
      RetryableError,
      /without a transaction-response Bundle/,
    ],
  ];
  for (const [what, body, kind, message] of entryCases) {
    it(`a transaction answered 200 with ${what} is not a success`, async () => {
      const server = await serve({ status: 200, body });
      const error = await rejectionOf(() => fhir(server).transaction(bundle));
      assert.ok(error instanceof kind, String(error));
      assert.match(error.message, message);
    });
  }
});
