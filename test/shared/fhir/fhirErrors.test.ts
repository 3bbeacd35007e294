import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization, type AuthorizationProvider } from '../../../shared/auth/authorizationProvider.js';
import { NonRetryableError, RetryableError, isRetryable } from '../../../shared/errors/errors.js';
import { createFhirClient, type FhirClient } from '../../../shared/fhir/fhirClient.js';
import { refusedOrigin } from '../../support/loopback.js';

/**
 * How a failed FHIR call is classified, over real HTTP against the local FHIR server: the writer retries a
 * conflict (409/412: another writer moved first), retries a transient fault (401 after one refresh, 429, 5xx,
 * network), and records anything else (400, 404, 422) as a failure without retrying. A conflict classified as
 * a rejection would drop a stale write's retry; a rejection classified as retryable would loop to the poison queue.
 */
describe('FHIR errors say whether to retry', () => {
  let fhir: RunningFhirServer;
  let client: FhirClient;
  let invalidations = 0;
  // A token is sent, so a 401 is worth one refresh (without one, a retry would get the same 401).
  const countingAuthorization: AuthorizationProvider = {
    authorizationFor: async () => 'Bearer test-token',
    invalidate: () => {
      invalidations++;
    },
  };

  before(async () => {
    fhir = await startFhirServer();
    // No retry inside the invocation: these tests are about how a failure is classified once retries are spent.
    client = createFhirClient({
      baseUrl: fhir.url,
      authorization: countingAuthorization,
      limits: { retryBudgetMs: 0 },
      retry: { maxAttempts: 1 },
    });
  });
  after(async () => {
    await fhir.close();
  });

  const emptyTransaction: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [] };

  async function failureOf(call: () => Promise<unknown>): Promise<Error> {
    try {
      await call();
    } catch (error) {
      assert.ok(error instanceof Error, 'a FHIR failure is an Error');
      return error;
    }
    assert.fail('the call was expected to fail');
  }

  const cases: { status: number; retryable: boolean; category: string }[] = [
    { status: 409, retryable: true, category: 'fhir-conflict' },
    { status: 412, retryable: true, category: 'fhir-conflict' },
    { status: 429, retryable: true, category: 'transient' },
    { status: 500, retryable: true, category: 'transient' },
    { status: 503, retryable: true, category: 'transient' },
    { status: 400, retryable: false, category: 'fhir-rejected' },
    { status: 403, retryable: false, category: 'fhir-rejected' },
    { status: 404, retryable: false, category: 'fhir-rejected' },
    { status: 422, retryable: false, category: 'fhir-rejected' },
  ];
  for (const { status, retryable, category } of cases) {
    it(`a transaction answered ${status} is ${retryable ? 'retried' : 'recorded, not retried'} (${category})`, async () => {
      fhir.failNext(1, status);
      const error = await failureOf(() => client.transaction(emptyTransaction));
      assert.ok(error instanceof (retryable ? RetryableError : NonRetryableError), error.message);
      assert.equal(isRetryable(error), retryable);
      assert.equal(error.category, category);
      assert.match(error.message, new RegExp(`^FHIR transaction answered ${status}: Injected fault \\(${status}\\)`));
    });
  }

  it('a search answered 412 is a conflict and names the resource type', async () => {
    fhir.failNext(1, 412);
    const error = await failureOf(() => client.search<Patient>('Patient', { identifier: 'x|1' }));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.category, 'fhir-conflict');
    assert.match(error.message, /^FHIR search Patient answered 412/);
  });

  it('a real If-Match mismatch (412 from the server, not an injected fault) is a conflict', async () => {
    const created = await client.transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } }],
    });
    const id = created.entry?.[0]?.response?.location?.split('/')[1];
    assert.ok(id);
    const stale: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Patient', id, active: false },
          request: { method: 'PUT', url: `Patient/${id}`, ifMatch: 'W/"not-the-current-version"' },
        },
      ],
    };
    const error = await failureOf(() => client.transaction(stale));
    assert.ok(error instanceof RetryableError, error.message);
    assert.equal(error.category, 'fhir-conflict');
  });

  it('a 401 refreshes the token and retries once; a second 401 is a transient failure', async () => {
    invalidations = 0;
    fhir.failNext(1, 401);
    await client.transaction(emptyTransaction);
    assert.equal(invalidations, 1);

    fhir.failNext(2, 401);
    const error = await failureOf(() => client.transaction(emptyTransaction));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.category, 'transient');
    assert.equal(invalidations, 2, 'one refresh per call, never a loop');
  });

  it('a server that cannot be reached is a transient failure', async () => {
    const nobody = createFhirClient({
      baseUrl: `${await refusedOrigin()}/fhir`,
      authorization: noAuthorization,
      limits: { retryBudgetMs: 0 },
      retry: { maxAttempts: 1 },
    });
    const error = await failureOf(() => nobody.transaction(emptyTransaction));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.category, 'transient');
    assert.match(error.message, /^POST http:\/\/127\.0\.0\.1:\d+\/fhir\/ failed: ECONNREFUSED$/);
  });
});
