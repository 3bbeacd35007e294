import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/index.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient, type FhirClient } from '../../../shared/fhir/fhirClient.js';
import { searchAll } from '../../../shared/fhir/searchBatch.js';
import { listen, readBody } from '../../support/loopback.js';
import {
  familiesFound as families,
  patientWithIdentifier as patient,
  searchByIdentifier as byIdentifier,
} from '../../support/patientSearches.js';

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
