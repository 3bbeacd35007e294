import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, BundleEntry, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient } from '../../../shared/fhir/fhirClient.js';
import { Attr } from '../../../shared/telemetry/names.js';
import type { RequestObserver } from '../../../shared/telemetry/telemetry.js';
import { listen, readBody } from '../../support/loopback.js';
import { rejectionOf } from '../../support/rejection.js';

/**
 * How the FHIR client pages and what it takes from a page, against a scripted FHIR server on loopback: every match of
 * every page, nothing a page carries besides its matches, no page read twice or past Fhir:MaxSearchPages, no request
 * to another origin (the token and the query stay with the FHIR server), and answers that are not what was asked for
 * are errors. The same bounds against hostile servers, end to end: test/integration/hostile/transportBounds.test.ts.
 */

const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });
const match = (family: string): BundleEntry => ({ resource: patient(family), search: { mode: 'match' } });
const searchset = (entry: BundleEntry[], next?: string): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry,
  ...(next
    ? {
        link: [
          { relation: 'self', url: 'ignored' },
          { relation: 'next', url: next },
        ],
      }
    : {}),
});
const families = (found: Patient[]) => found.map((p) => p.name?.[0]?.family);

type Handler = (request: IncomingMessage, path: string) => { status?: number; body: unknown };

describe('FHIR search paging and page contents (scripted FHIR server)', () => {
  let handler: Handler = () => ({ body: searchset([]) });
  const requests: string[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    server = await listen((request, response) => {
      void readBody(request).then(() => {
        const path = request.url ?? '';
        requests.push(`${request.method ?? ''} ${path}`);
        const { status = 200, body } = handler(request, path);
        response.writeHead(status, { 'Content-Type': 'application/fhir+json' });
        response.end(JSON.stringify(body));
      });
    });
  });
  after(() => server.close());
  beforeEach(() => {
    requests.length = 0;
  });
  const client = (maxSearchPages = 100, base = `${server.origin}/fhir`) =>
    createFhirClient({
      baseUrl: base,
      authorization: noAuthorization,
      limits: { retryBudgetMs: 0, maxSearchPages },
    });

  it('search: every page to the last, asking for 1,000 a page, under a base URL given with trailing slashes', async () => {
    handler = (_request, path) =>
      path.includes('page=3')
        ? { body: searchset([match('five')]) }
        : path.includes('page=2')
          ? { body: searchset([match('three'), match('four')], '/fhir/Patient?page=3') }
          : { body: searchset([match('one'), match('two')], 'Patient?page=2') };
    const found = await client(3, `${server.origin}/fhir//`).search<Patient>('Patient', { name: 'x y' });
    assert.deepEqual(families(found), ['one', 'two', 'three', 'four', 'five']);
    assert.deepEqual(requests, [
      'GET /fhir/Patient?_count=1000&name=x+y',
      'GET /fhir/Patient?page=2',
      'GET /fhir/Patient?page=3',
    ]);
  });

  it('search: only the matches of the type asked for; not outcome entries, included resources or entries without a resource', async () => {
    handler = () => ({
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [
          match('match'),
          { resource: patient('no search mode') },
          { resource: patient('included'), search: { mode: 'include' } },
          {
            resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'processing' }] },
            search: { mode: 'outcome' },
          },
          { search: { mode: 'match' } },
        ],
      },
    });
    assert.deepEqual(families(await client().search<Patient>('Patient', {})), ['match', 'no search mode']);
    handler = () => ({ body: { resourceType: 'Bundle', type: 'searchset' } });
    assert.deepEqual(await client().search<Patient>('Patient', {}), [], 'a searchset without entries or links');
  });

  it('search: a page that is not a Bundle is refused, naming the page', async () => {
    handler = (_request, path) =>
      path.includes('page=2')
        ? { body: { resourceType: 'OperationOutcome', issue: [] } }
        : { body: searchset([match('one')], 'Patient?page=2') };
    const error = await rejectionOf(() => client().search('Patient', {}));
    assert.ok(error instanceof NonRetryableError);
    assert.equal(error.message, 'FHIR search Patient answered 200 without a Bundle (page 2)');
  });

  it('search: a next link back to an earlier page stops paging, ignoring a #fragment', async () => {
    handler = (_request, path) =>
      path.includes('page=2')
        ? { body: searchset([match('two')], `/fhir/Patient?_count=1000#again`) }
        : { body: searchset([match('one')], 'Patient?page=2') };
    const error = await rejectionOf(() => client().search('Patient', {}));
    assert.ok(error instanceof NonRetryableError);
    assert.equal(
      error.message,
      'FHIR search Patient: the next link of page 2 repeats an earlier page; paging stopped (a server paging loop)',
    );
    assert.equal(requests.length, 2);
  });

  it('search: Fhir:MaxSearchPages pages are read; a next link on the last of them is an error naming the setting', async () => {
    let served = 0;
    handler = () => {
      served += 1;
      return { body: searchset([match(String(served))], `Patient?page=${served + 1}`) };
    };
    const error = await rejectionOf(() => client(3).search('Patient', {}));
    assert.ok(error instanceof NonRetryableError);
    assert.deepEqual(error.location, { setting: 'Fhir:MaxSearchPages' });
    assert.match(error.message, /^FHIR search Patient: more than 3 pages; paging stopped \(Fhir:MaxSearchPages\)/);
    assert.equal(requests.length, 3);
  });

  it('search: a next link to another origin, or one that is not a URL, is not followed', async () => {
    handler = () => ({ body: searchset([match('one')], 'http://127.0.0.2:9/fhir/Patient?page=2') });
    const elsewhere = await rejectionOf(() => client().search('Patient', {}));
    assert.ok(elsewhere instanceof NonRetryableError);
    assert.equal(
      elsewhere.message,
      'FHIR search Patient: the next link of page 1 points to another origin (http://127.0.0.2:9); not followed',
    );
    handler = () => ({ body: searchset([match('one')], 'http://[not a host/Patient') });
    const notUrl = await rejectionOf(() => client().search('Patient', {}));
    assert.ok(notUrl instanceof NonRetryableError);
    assert.equal(notUrl.message, 'FHIR search Patient: the next link of page 1 is not a URL');
    assert.equal(requests.length, 2);
  });

  it('searchPage: one page, its matches apart from what else it carries, and the next link', async () => {
    const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: [] };
    handler = () => ({
      body: searchset(
        [
          match('one'),
          { resource: patient('linked'), search: { mode: 'include' } },
          { resource: outcome, search: { mode: 'outcome' } },
          { search: { mode: 'match' } },
        ],
        'Patient?page=2',
      ),
    });
    const page = await client().searchPage<Patient>('Patient', { name: 'x' });
    assert.deepEqual(families(page.matches), ['one']);
    assert.deepEqual(page.included, [patient('linked'), outcome]);
    assert.equal(page.next, 'Patient?page=2');
    assert.deepEqual(requests, ['GET /fhir/Patient?name=x']);

    handler = () => ({ body: { resourceType: 'Bundle', type: 'searchset' } });
    const last = await client().searchPage<Patient>('Patient', {}, `${server.origin}/fhir/Patient?page=2#top`);
    assert.deepEqual(last, { matches: [], included: [] });
    assert.equal(requests[1], 'GET /fhir/Patient?page=2');
  });

  it('searchPage: a page URL on another origin is refused; a status or a body that is not a Bundle is an error', async () => {
    const elsewhere = await rejectionOf(() =>
      client().searchPage('Patient', {}, 'http://127.0.0.2:9/fhir/Patient?page=2'),
    );
    assert.ok(elsewhere instanceof NonRetryableError);
    assert.match(elsewhere.message, /the next link of page 0 points to another origin \(http:\/\/127\.0\.0\.2:9\)/);
    assert.deepEqual(requests, []);

    handler = () => ({ body: { resourceType: 'Patient' } });
    const notBundle = await rejectionOf(() => client().searchPage('Patient', {}));
    assert.ok(notBundle instanceof NonRetryableError);
    assert.equal(notBundle.message, 'FHIR search Patient answered 200 without a Bundle');

    handler = () => ({
      status: 403,
      body: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'no scope' }],
      },
    });
    const refused = await rejectionOf(() => client().searchPage('Patient', {}));
    assert.ok(refused instanceof NonRetryableError);
    assert.equal(refused.message, 'FHIR search Patient answered 403: no scope');
  });

  it('batch: anything but a 200 batch-response is an error', async () => {
    const batch = { resourceType: 'Bundle', type: 'batch', entry: [] } as Bundle;
    handler = () => ({ body: { resourceType: 'Bundle', type: 'batch-response', entry: [] } });
    assert.deepEqual(await client().batch(batch), { resourceType: 'Bundle', type: 'batch-response', entry: [] });
    assert.deepEqual(requests, ['POST /fhir/']);

    handler = () => ({
      status: 400,
      body: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', diagnostics: 'not a batch' }],
      },
    });
    const refused = await rejectionOf(() => client().batch(batch));
    assert.ok(refused instanceof NonRetryableError);
    assert.equal(refused.message, 'FHIR batch answered 400: not a batch');

    for (const body of [
      { resourceType: 'Bundle', type: 'transaction-response' },
      { resourceType: 'OperationOutcome' },
    ]) {
      handler = () => ({ body });
      const wrong = await rejectionOf(() => client().batch(batch));
      assert.ok(wrong instanceof RetryableError);
      assert.equal(wrong.category, 'transient');
      assert.equal(wrong.message, 'FHIR batch answered 200 without a batch-response Bundle');
    }
  });

  it('each request is observed as a FHIR request, named by its operation and resource type, with its status', async () => {
    const observed: unknown[][] = [];
    const requests: RequestObserver = {
      observe: async (server, operation, call, status, attributes) => {
        const result = await call();
        observed.push([server, operation, attributes, status?.ofResult?.(result)]);
        return result;
      },
    };
    const observedClient = createFhirClient({
      baseUrl: `${server.origin}/fhir`,
      authorization: noAuthorization,
      limits: { retryBudgetMs: 0 },
      requests,
    });
    handler = (_request, path) =>
      path.includes('page=2') ? { body: searchset([]) } : { body: searchset([], 'Patient?page=2') };
    await observedClient.search('Patient', {});
    await observedClient.searchPage('ImagingStudy', {});
    await observedClient.searchPage('Patient', {}, 'Patient?page=2');
    handler = () => ({ body: { resourceType: 'Bundle', type: 'batch-response', entry: [] } });
    await observedClient.batch({ resourceType: 'Bundle', type: 'batch', entry: [] });
    handler = () => ({ status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: [] } });
    await observedClient.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] });
    assert.deepEqual(observed, [
      ['fhir', 'search', { [Attr.resourceType]: 'Patient' }, 200],
      ['fhir', 'search-page', { [Attr.resourceType]: 'Patient' }, 200],
      ['fhir', 'search', { [Attr.resourceType]: 'ImagingStudy' }, 200],
      ['fhir', 'search-page', { [Attr.resourceType]: 'Patient' }, 200],
      ['fhir', 'batch', {}, 200],
      ['fhir', 'transaction', {}, 200],
    ]);
  });
});
