import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, BundleEntry, BundleEntryResponse, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/index.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient, searchPageSize, type FhirClient } from '../../../shared/fhir/fhirClient.js';
import { searchAll, searchEntry, type SearchRequest } from '../../../shared/fhir/searchBatch.js';
import { listen, readBody } from '../../support/loopback.js';

const patient = (value: string, family: string): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:test', value }],
  name: [{ family }],
});

const byIdentifier = (value: string): SearchRequest => ({
  resourceType: 'Patient',
  params: { identifier: `urn:test|${value}` },
});

const families = (found: unknown[][]) =>
  found.map((matches) => (matches as Patient[]).map((p) => p.name?.[0]?.family ?? '').sort());

describe('searchAll: several searches in one FHIR batch (real FHIR server)', () => {
  let fhir: RunningFhirServer;
  let client: ReturnType<typeof createFhirClient>;
  before(async () => {
    fhir = await startFhirServer();
    client = createFhirClient({ baseUrl: fhir.url, authorization: noAuthorization });
  });
  after(() => fhir.close());
  beforeEach(async () => {
    await fhir.reset();
    const created = await client.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [patient('a', 'A1'), patient('a', 'A2'), patient('b', 'B1')].map((resource) => ({
        resource,
        request: { method: 'POST', url: 'Patient' },
      })),
    });
    assert.equal(created.entry?.length, 3);
    fhir.resetRequestCount();
  });

  it('answers every search with all its matches, in one request', async () => {
    const found = await searchAll(client, [byIdentifier('a'), byIdentifier('b'), byIdentifier('none')]);
    assert.deepEqual(families(found), [['A1', 'A2'], ['B1'], []]);
    assert.deepEqual(fhir.requestCounts(), { batch: 1 });
  });

  it('gives the same matches as one search each', async () => {
    const searches = [byIdentifier('a'), byIdentifier('b')];
    const oneByOne = await Promise.all(searches.map((s) => client.search<Patient>('Patient', s.params)));
    assert.deepEqual(families(await searchAll(client, searches)), families(oneByOne));
  });

  it('sends a single search as a search, and searches one by one with a client that has no batch', async () => {
    await searchAll(client, [byIdentifier('a')]);
    assert.deepEqual(fhir.requestCounts(), { 'search-type': 1 });
    const withoutBatch: FhirClient = {
      search: (type, params) => client.search(type, params),
      transaction: (bundle) => client.transaction(bundle),
    };
    fhir.resetRequestCount();
    const found = await searchAll(withoutBatch, [byIdentifier('a'), byIdentifier('b')]);
    assert.deepEqual(families(found), [['A1', 'A2'], ['B1']]);
    assert.deepEqual(fhir.requestCounts(), { 'search-type': 2 });
  });

  it('a search the server refuses inside the batch is an error, as on its own', async () => {
    await assert.rejects(
      searchAll(client, [byIdentifier('a'), { resourceType: 'Patient', params: { 'no-such-parameter': 'x' } }]),
      (error: unknown) => error instanceof NonRetryableError && /search Patient answered 400/.test(error.message),
    );
  });
});

describe('searchAll: what a batch does not answer whole is searched on its own', () => {
  it('follows the pages of a search whose batch entry has a next link, and resends a failed entry', async () => {
    const seen: string[] = [];
    const searchset = (family: string, next?: string): Bundle => ({
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: patient('x', family), search: { mode: 'match' } }],
      ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
    });
    const server = await listen((request, response) => {
      void (async () => {
        const body = await readBody(request);
        const url = request.url ?? '';
        seen.push(`${request.method ?? ''} ${url.replace(/_count=\d+&?/, '')}`);
        let answer: Bundle;
        if (request.method === 'POST') {
          const batch = JSON.parse(body) as Bundle;
          assert.equal(batch.type, 'batch');
          answer = {
            resourceType: 'Bundle',
            type: 'batch-response',
            entry: [
              { resource: searchset('first page', `${origin}/fhir/Patient?page=2`), response: { status: '200 OK' } },
              // A failed entry is resent whatever it carries.
              { resource: searchset('not an answer'), response: { status: '503 Service Unavailable' } },
              { resource: searchset('C'), response: { status: '200 OK' } },
            ],
          };
        } else if (url.includes('page=2')) answer = searchset('second page');
        else if (url.includes('identifier=urn%3Atest%7Ca'))
          answer = searchset('first page', `${origin}/fhir/Patient?page=2`);
        else answer = searchset('B');
        response.setHeader('Content-Type', 'application/fhir+json');
        response.end(JSON.stringify(answer));
      })();
    });
    const origin = server.origin;
    try {
      const client = createFhirClient({ baseUrl: `${origin}/fhir`, authorization: noAuthorization });
      const found = await searchAll(client, [byIdentifier('a'), byIdentifier('b'), byIdentifier('c')]);
      assert.deepEqual(families(found), [['first page', 'second page'], ['B'], ['C']]);
      assert.deepEqual(seen.sort(), [
        'GET /fhir/Patient?identifier=urn%3Atest%7Ca',
        'GET /fhir/Patient?identifier=urn%3Atest%7Cb',
        'GET /fhir/Patient?page=2',
        'POST /fhir/',
      ]);
    } finally {
      await server.close();
    }
  });
});

/**
 * A scripted FHIR server: the batch is answered with `batchAnswer` (given the server's origin); each search GET with
 * one page holding the Patient named by the search's identifier value (family = `alone <value>`).
 */
async function withScriptedServer(
  batchAnswer: Bundle,
  run: (client: ReturnType<typeof createFhirClient>, seen: string[]) => Promise<void>,
): Promise<void> {
  const seen: string[] = [];
  const server = await listen((request, response) => {
    void (async () => {
      await readBody(request);
      const url = new URL(request.url ?? '', 'http://localhost');
      seen.push(`${request.method ?? ''} ${url.searchParams.get('identifier') ?? url.pathname}`);
      const value = (url.searchParams.get('identifier') ?? '').replace('urn:test|', '');
      const answer: Bundle =
        request.method === 'POST'
          ? batchAnswer
          : {
              resourceType: 'Bundle',
              type: 'searchset',
              entry: [{ resource: patient(value, `alone ${value}`), search: { mode: 'match' } }],
            };
      response.setHeader('Content-Type', 'application/fhir+json');
      response.end(JSON.stringify(answer));
    })();
  });
  try {
    await run(createFhirClient({ baseUrl: `${server.origin}/fhir`, authorization: noAuthorization }), seen);
  } finally {
    await server.close();
  }
}

const batchResponse = (entry?: BundleEntry[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'batch-response',
  ...(entry ? { entry } : {}),
});

const page = (family: string): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: [{ resource: patient('x', family), search: { mode: 'match' } }],
});

describe('searchAll: a batch answer that is not a whole searchset never hides a match', () => {
  it('an entry answered 200 without a searchset, without a response or a status, or left out, is searched alone', async () => {
    const outcome: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational' }],
    };
    await withScriptedServer(
      batchResponse([
        { resource: page('batch a'), response: { status: '200 OK' } },
        { resource: outcome, response: { status: '200 OK' } },
        {},
        { resource: page('no status'), response: {} as BundleEntryResponse },
        { response: { status: '200 OK' } },
        // The sixth search has no entry at all.
      ]),
      async (client, seen) => {
        const found = await searchAll(client, ['a', 'b', 'c', 'd', 'e', 'f'].map(byIdentifier));
        assert.deepEqual(families(found), [
          ['batch a'],
          ['alone b'],
          ['alone c'],
          ['alone d'],
          ['alone e'],
          ['alone f'],
        ]);
        assert.deepEqual(seen.sort(), [
          'GET urn:test|b',
          'GET urn:test|c',
          'GET urn:test|d',
          'GET urn:test|e',
          'GET urn:test|f',
          'POST /fhir/',
        ]);
      },
    );
  });

  it('a batch-response without entries: every search is sent alone', async () => {
    await withScriptedServer(batchResponse(), async (client, seen) => {
      const found = await searchAll(client, [byIdentifier('a'), byIdentifier('b')]);
      assert.deepEqual(families(found), [['alone a'], ['alone b']]);
      assert.deepEqual(seen.sort(), ['GET urn:test|a', 'GET urn:test|b', 'POST /fhir/']);
    });
  });

  it("a searchset entry's matches only: not its outcome entries, included resources or entries without a resource", async () => {
    const searchset: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: patient('a', 'match'), search: { mode: 'match' } },
        { resource: patient('a', 'no mode') },
        { resource: patient('other', 'included'), search: { mode: 'include' } },
        {
          resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'processing' }] },
          search: { mode: 'outcome' },
        },
        { search: { mode: 'match' } },
      ],
    };
    await withScriptedServer(
      batchResponse([
        { resource: searchset, response: { status: '200 OK' } },
        { resource: page('batch b'), response: { status: '200' } },
      ]),
      async (client, seen) => {
        const found = await searchAll(client, [byIdentifier('a'), byIdentifier('b')]);
        assert.deepEqual(families(found), [['match', 'no mode'], ['batch b']]);
        assert.deepEqual(seen, ['POST /fhir/']);
      },
    );
  });
});

describe('searchEntry', () => {
  it('asks for the page size FhirClient.search asks for, so a batch answer is as often whole as a search', () => {
    assert.deepEqual(searchEntry(byIdentifier('a')), {
      request: { method: 'GET', url: `Patient?_count=${searchPageSize}&identifier=urn%3Atest%7Ca` },
    });
  });
});
