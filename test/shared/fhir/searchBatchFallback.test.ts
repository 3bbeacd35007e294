import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, BundleEntry, BundleEntryResponse, OperationOutcome } from '@medplum/fhirtypes';
import { noAuthorization } from '../../../shared/auth/index.js';
import { createFhirClient, searchPageSize } from '../../../shared/fhir/fhirClient.js';
import { searchAll, searchEntry } from '../../../shared/fhir/searchBatch.js';
import { listen, readBody } from '../../support/loopback.js';
import {
  familiesFound as families,
  patientWithIdentifier as patient,
  searchByIdentifier as byIdentifier,
} from '../../support/patientSearches.js';

/**
 * A batch must never hide a match: whatever its answer does not give whole for a search (an entry that failed, is
 * missing, has no status, is not a searchset) is searched on its own, and of a searchset only the matches count.
 * Against a scripted FHIR server whose batch answers are written out; searchBatch.test.ts runs the real FHIR server.
 */
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

  it('a searchset entry with a next link among its other links (self, first) is searched alone with its pages', async () => {
    const firstPage: Bundle = {
      ...page('batch a, page 1'),
      link: [
        { relation: 'self', url: 'Patient?identifier=urn%3Atest%7Ca' },
        { relation: 'next', url: 'Patient?identifier=urn%3Atest%7Ca&page=2' },
        { relation: 'first', url: 'Patient?identifier=urn%3Atest%7Ca' },
      ],
    };
    await withScriptedServer(
      batchResponse([
        { resource: firstPage, response: { status: '200 OK' } },
        {
          resource: { ...page('batch b'), link: [{ relation: 'self', url: 'Patient' }] },
          response: { status: '200 OK' },
        },
      ]),
      async (client, seen) => {
        const found = await searchAll(client, [byIdentifier('a'), byIdentifier('b')]);
        assert.deepEqual(families(found), [['alone a'], ['batch b']]);
        assert.deepEqual(seen.sort(), ['GET urn:test|a', 'POST /fhir/']);
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
