import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { noAuthorization } from '../../../shared/auth/index.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient } from '../../../shared/fhir/fhirClient.js';
import { AdaptiveLimiter } from '../../../shared/http/adaptiveLimiter.js';
import { retryAfterMs } from '../../../shared/http/retryAfter.js';
import { resetTransportStats, transportStats, withRetryBudget } from '../../../shared/http/retryBudget.js';
import { backoffMs } from '../../../shared/http/transientRetry.js';
import { startFhirServer } from '../../../dev/fhir-server/index.js';
import { emptySearch, scriptedServer, transactionResponse, type ScriptedServer } from './transportServers.js';
import { rejectionOf } from '../../support/rejection.js';

const bundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } }],
};

describe('transport: transient failures are waited out inside the invocation', () => {
  const servers: ScriptedServer[] = [];
  const waits: number[] = [];
  const sleep = (ms: number) => {
    waits.push(ms);
    return Promise.resolve();
  };
  const serve = async (...script: Parameters<typeof scriptedServer>[0]) => {
    const server = await scriptedServer(script);
    servers.push(server);
    return server;
  };
  const client = (server: ScriptedServer, retryBudgetMs = 60_000) =>
    createFhirClient({
      baseUrl: `${server.origin}/fhir`,
      authorization: noAuthorization,
      limits: { retryBudgetMs, requestTimeoutMs: 5_000 },
      retry: { sleep, random: () => 0.5 },
      writeLimiter: new AdaptiveLimiter(4),
    });
  afterEach(async () => {
    waits.length = 0;
    resetTransportStats();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  for (const status of [429, 502, 503, 504]) {
    it(`a search answered ${status} then 200 returns the result after one retry`, async () => {
      const server = await serve({ status }, { status: 200, body: emptySearch });
      assert.deepEqual(await client(server).search('Patient', { identifier: 'x' }), []);
      assert.equal(server.requests.length, 2);
      assert.equal(transportStats().retries, 1);
      assert.deepEqual(transportStats().causes, { [String(status)]: 1 });
    });
  }

  it('a reset connection and a lost response are retried (the transaction is sent again)', async () => {
    const server = await serve('reset', 'lost', { status: 200, body: transactionResponse(['201 Created']) });
    const response = await client(server).transaction(bundle);
    assert.equal(response.type, 'transaction-response');
    assert.equal(server.requests.length, 3);
    assert.deepEqual(transportStats().causes, { ECONNRESET: 2 });
  });

  it('Retry-After in seconds, as an HTTP date, and x-ms-retry-after-ms (which wins) set the wait', async () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    assert.equal(retryAfterMs({ 'retry-after': '3' }, now), 3_000);
    assert.equal(retryAfterMs({ 'retry-after': 'Fri, 04 Dec 2026 12:00:07 GMT' }, now), 7_000);
    assert.equal(retryAfterMs({ 'retry-after': 'Fri, 04 Dec 2026 11:00:00 GMT' }, now), 0);
    assert.equal(retryAfterMs({ 'retry-after': '3', 'x-ms-retry-after-ms': '250' }, now), 250);
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }, now), undefined);
    assert.equal(retryAfterMs({ 'retry-after': '-1' }, now), undefined);
    assert.equal(retryAfterMs({}, now), undefined);

    const server = await serve(
      { status: 429, headers: { 'Retry-After': '2' } },
      { status: 429, headers: { 'x-ms-retry-after-ms': '1500', 'Retry-After': '9' } },
      { status: 200, body: emptySearch },
    );
    await client(server).search('Patient', {});
    assert.deepEqual(waits, [2_000, 1_500]);
  });

  it('backs off exponentially with full jitter under a ceiling', () => {
    const policy = { fallbackBudgetMs: 0, baseDelayMs: 100, maxDelayMs: 1_000 };
    assert.equal(backoffMs(1, undefined, { ...policy, random: () => 0.999 }), 99);
    assert.equal(backoffMs(3, undefined, { ...policy, random: () => 0.999 }), 399);
    assert.equal(backoffMs(9, undefined, { ...policy, random: () => 0.999 }), 999);
    assert.equal(backoffMs(9, undefined, { ...policy, random: () => 0 }), 0);
    assert.equal(backoffMs(1, 5_000, { ...policy, random: () => 0.5 }), 5_000);
  });

  it('when the budget is spent the failure stays a RetryableError (the queue retries later)', async () => {
    const server = await serve({ status: 429, headers: { 'Retry-After': '30' } });
    const error = await rejectionOf(() =>
      withRetryBudget(45_000, () => client(server, 1_000_000).search('Patient', {})),
    );
    assert.ok(error instanceof RetryableError);
    assert.equal(error.category, 'transient');
    assert.match(error.message, /FHIR search Patient answered 429/);
    // One 30 s wait fits in 45 s, a second does not: two requests, one retry.
    assert.equal(server.requests.length, 2);
    assert.deepEqual(waits, [30_000]);
    assert.equal(transportStats().budgetExhausted, 1);

    const reset = await serve('reset');
    const network = await rejectionOf(() => withRetryBudget(0, () => client(reset).transaction(bundle)));
    assert.ok(network instanceof RetryableError);
    assert.match(network.message, /POST http:\/\/127\.0\.0\.1:\d+\/fhir\/? failed: ECONNRESET/);
    assert.equal(reset.requests.length, 1, 'a budget of 0 means no retry inside the invocation');
  });

  it('an invocation shares one budget across its requests', async () => {
    const server = await serve({ status: 503, headers: { 'Retry-After': '10' } });
    const fhir = client(server);
    await withRetryBudget(25_000, async () => {
      await assert.rejects(fhir.search('Patient', {}), RetryableError);
      await assert.rejects(fhir.search('Endpoint', {}), RetryableError);
    });
    // 2 waits of 10 s for the first search; nothing left for the second.
    assert.deepEqual(waits, [10_000, 10_000]);
    assert.equal(server.requests.length, 4);
  });

  it('a 4xx, a 409 and a 412 are not retried by the transport', async () => {
    for (const [status, kind, category] of [
      [400, NonRetryableError, 'fhir-rejected'],
      [409, RetryableError, 'fhir-conflict'],
      [412, RetryableError, 'fhir-conflict'],
    ] as const) {
      const server = await serve({ status });
      const error = await rejectionOf(() => client(server).transaction(bundle));
      assert.ok(error instanceof kind, `${status}`);
      assert.equal((error as RetryableError).category, category);
      assert.equal(server.requests.length, 1);
    }
  });

  it('a transaction whose response was lost is resent safely: the local FHIR server answers the resend 200 (match) and 412', async () => {
    const fhir = await startFhirServer();
    try {
      const direct = createFhirClient({ baseUrl: fhir.url, authorization: noAuthorization });
      const seeded = await direct.transaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:test|lost-1' },
            resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'lost-1' }] },
          },
        ],
      });
      const id = seeded.entry?.[0]?.response?.location?.split('/')[1] ?? '';
      // The writer's shape: a conditional create and a versioned update, as one transaction.
      const write: Bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            request: { method: 'POST', url: 'Endpoint', ifNoneExist: 'identifier=urn:test|ep-1' },
            resource: {
              resourceType: 'Endpoint',
              identifier: [{ system: 'urn:test', value: 'ep-1' }],
              status: 'active',
              connectionType: { code: 'dicom-wado-rs' },
              payloadType: [{ text: 'DICOM' }],
              address: 'https://dicom.example',
            },
          },
          {
            request: { method: 'PUT', url: `Patient/${id}`, ifMatch: 'W/"1"' },
            resource: {
              resourceType: 'Patient',
              id,
              identifier: [{ system: 'urn:test', value: 'lost-1' }],
              gender: 'other',
            },
          },
        ],
      };
      // First attempt: processed by the server, response lost. The transport resends it.
      const lossy = await scriptedServer([
        (request, response, body) => {
          void fetch(fhir.url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/fhir+json' },
            body,
          }).then(() => request.socket.destroy());
        },
        (request, response, body) => {
          void fetch(fhir.url, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body }).then(
            async (answer) => {
              response.writeHead(answer.status, { 'Content-Type': 'application/fhir+json' });
              response.end(await answer.text());
            },
          );
        },
      ]);
      servers.push(lossy);
      const error = await rejectionOf(() => client(lossy).transaction(write));
      // The resend met the committed first copy: the If-Match update is refused, which the writer re-reads on.
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'fhir-conflict');
      assert.match(error.message, /412/);
      assert.equal(lossy.requests.length, 2);
      const patients = await fhir.all<{ gender?: string; meta?: { versionId?: string } }>('Patient');
      assert.equal(patients.length, 1);
      assert.equal(patients[0]?.meta?.versionId, '2', 'written once');
      assert.equal((await fhir.all('Endpoint')).length, 1, 'created once');

      // The conditional create alone: the resend answers 200 (found), not a second resource.
      const createOnly: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [write.entry![0]!] };
      const again = await direct.transaction(createOnly);
      assert.match(again.entry?.[0]?.response?.status ?? '', /^200/);
      assert.equal((await fhir.all('Endpoint')).length, 1);
    } finally {
      await fhir.close();
    }
  });

  it('the write limiter halves on throttling (once per episode) and grows back by one per limit successes', () => {
    let clock = 0;
    const limiter = new AdaptiveLimiter(16, 1_000, () => clock);
    limiter.throttled();
    limiter.throttled();
    assert.equal(limiter.limit, 8, 'two 429s of one episode halve once');
    clock += 1_000;
    limiter.throttled();
    assert.equal(limiter.limit, 4);
    for (let i = 0; i < 3; i++) limiter.succeeded();
    assert.equal(limiter.limit, 4);
    limiter.succeeded();
    assert.equal(limiter.limit, 5);
    for (let i = 0; i < 30; i++) {
      clock += 1_000;
      limiter.throttled();
    }
    assert.equal(limiter.limit, 1, 'never below one');
  });

  it('under throttling the worker as a whole sends fewer concurrent writes', async () => {
    let inFlight = 0;
    let peak = 0;
    let answered = 0;
    const server = await serve((request, response) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      const status = answered++ < 8 ? 429 : 200;
      setTimeout(() => {
        inFlight -= 1;
        response.writeHead(status, { 'Content-Type': 'application/fhir+json', 'Retry-After': '0' });
        response.end(status === 200 ? JSON.stringify(transactionResponse(['201 Created'])) : '');
      }, 20);
    });
    const limiter = new AdaptiveLimiter(8);
    const fhir = createFhirClient({
      baseUrl: `${server.origin}/fhir`,
      authorization: noAuthorization,
      retry: { sleep: () => new Promise((resolve) => setTimeout(resolve, 5)) },
      writeLimiter: limiter,
    });
    const firstPeak = await Promise.all(Array.from({ length: 8 }, () => fhir.transaction(bundle))).then(() => peak);
    assert.equal(firstPeak, 8, 'eight writers start together');
    assert.equal(limiter.limit, 5, 'one throttling episode halved the limit to 4, four successes grew it to 5');
    peak = 0;
    await Promise.all(Array.from({ length: 8 }, () => fhir.transaction(bundle)));
    assert.ok(peak <= 6, `after throttling at most limit (+1 growth) writes at once, saw ${peak}`);
  });
});
