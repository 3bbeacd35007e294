import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient, type FhirTransportLimits } from '../../../shared/fhir/fhirClient.js';
import { listen, readBody } from '../../support/loopback.js';
import { rejectionOf } from '../../support/rejection.js';

/**
 * What the FHIR client sends and how it names what it cannot use, against a scripted FHIR server on loopback: the
 * FHIR media type on every request (servers such as AHDS refuse a body without it), an empty 200 answer refused as
 * what it is (not a TypeError), the category of each paging refusal (fhir-rejected: recorded, not retried), the
 * response size setting named, and search entries without their optional `search` element.
 */

const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });

type Handler = (request: IncomingMessage, path: string) => { status?: number; raw?: string; body?: unknown };

describe('FHIR client requests and refusals (scripted FHIR server)', () => {
  let handler: Handler = () => ({ body: { resourceType: 'Bundle', type: 'searchset' } });
  const headers: IncomingHttpHeaders[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    server = await listen((request, response) => {
      void readBody(request).then(() => {
        headers.push(request.headers);
        const { status = 200, raw, body } = handler(request, request.url ?? '');
        response.writeHead(status, { 'Content-Type': 'application/fhir+json' });
        response.end(raw ?? JSON.stringify(body));
      });
    });
  });
  after(() => server.close());
  beforeEach(() => {
    headers.length = 0;
  });
  const client = (limits: Partial<FhirTransportLimits> = {}) =>
    createFhirClient({
      baseUrl: `${server.origin}/fhir`,
      authorization: noAuthorization,
      limits: { retryBudgetMs: 0, ...limits },
    });
  const category = (error: Error) => (error as Error & { category?: string }).category;

  it('every request asks for FHIR JSON, and every POST says its body is FHIR JSON', async () => {
    const client_ = client();
    await client_.search('Patient', {});
    await client_.searchPage('Patient', {});
    handler = () => ({ body: { resourceType: 'Bundle', type: 'batch-response', entry: [] } });
    await client_.batch({ resourceType: 'Bundle', type: 'batch', entry: [] });
    handler = () => ({ body: { resourceType: 'Bundle', type: 'transaction-response', entry: [] } });
    await client_.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] });
    assert.deepEqual(
      headers.map((h) => [h.accept, h['content-type']]),
      [
        ['application/fhir+json', undefined],
        ['application/fhir+json', undefined],
        ['application/fhir+json', 'application/fhir+json'],
        ['application/fhir+json', 'application/fhir+json'],
      ],
    );
    // The writer reads no resource back from a transaction; reads (search, batch of GETs) need theirs.
    assert.deepEqual(
      headers.map((h) => h.prefer),
      [undefined, undefined, undefined, 'return=minimal'],
    );
  });

  it('a 200 whose body is empty is refused as an answer without a Bundle (search, searchPage, batch)', async () => {
    handler = () => ({ raw: 'null' });
    const searched = await rejectionOf(() => client().search('Patient', {}));
    assert.ok(searched instanceof NonRetryableError);
    assert.equal(category(searched), 'fhir-rejected');
    assert.equal(searched.message, 'FHIR search Patient answered 200 without a Bundle (page 1)');

    const paged = await rejectionOf(() => client().searchPage('Patient', {}));
    assert.ok(paged instanceof NonRetryableError);
    assert.equal(category(paged), 'fhir-rejected');
    assert.equal(paged.message, 'FHIR search Patient answered 200 without a Bundle');

    const batched = await rejectionOf(() => client().batch({ resourceType: 'Bundle', type: 'batch', entry: [] }));
    assert.ok(batched instanceof RetryableError);
    assert.equal(batched.message, 'FHIR batch answered 200 without a batch-response Bundle');
  });

  it('paging refusals are fhir-rejected: a loop, too many pages, a next link that is no URL or on another origin', async () => {
    const page = (next: string): Bundle => ({
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'next', url: next }],
    });
    const cases: [string, string, Partial<FhirTransportLimits>][] = [
      ['Patient?page=1', 'repeats an earlier page', {}],
      ['Patient?page=2', 'more than 1 pages', { maxSearchPages: 1 }],
      ['http://[::1', 'is not a URL', {}],
      ['http://127.0.0.2:9/fhir/Patient?page=2', 'points to another origin', {}],
    ];
    for (const [next, text, limits] of cases) {
      handler = (_request, path) => ({ body: path.includes('page=') ? page(next) : page('Patient?page=1') });
      const error = await rejectionOf(() => client(limits).search('Patient', {}));
      assert.ok(error instanceof NonRetryableError, text);
      assert.equal(category(error), 'fhir-rejected', text);
      assert.ok(error.message.includes(text), `${error.message} names "${text}"`);
    }
  });

  it('an answer over Fhir:MaxResponseBytes is refused naming that setting', async () => {
    handler = () => ({
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: Array.from({ length: 50 }, () => ({ resource: patient('x'.repeat(100)) })),
      },
    });
    const error = await rejectionOf(() => client({ maxResponseBytes: 1000 }).search('Patient', {}));
    assert.ok(error.message.includes('Fhir:MaxResponseBytes'), error.message);
  });

  it('matches without the optional search element are taken; a page whose links have no next is the last', async () => {
    handler = () => ({
      body: {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: patient('bare') }],
        link: [{ relation: 'self', url: 'Patient' }],
      },
    });
    const found = await client().search<Patient>('Patient', {});
    assert.deepEqual(
      found.map((p) => p.name?.[0]?.family),
      ['bare'],
    );
    const page = await client().searchPage<Patient>('Patient', {});
    assert.deepEqual(
      page.matches.map((p) => p.name?.[0]?.family),
      ['bare'],
    );
    assert.equal(page.next, undefined);
  });
});
