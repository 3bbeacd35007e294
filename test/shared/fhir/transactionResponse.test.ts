import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { checkTransactionResponse, describeOutcome, fhirStatusError } from '../../../shared/fhir/fhirErrors.js';

/**
 * A transaction answered 200 is a success only when every entry answered 2xx: an entry refused inside a 200 Bundle
 * taken as written would lose that write (or its fence) without a trace. Each way a response can fall short, and
 * which error it becomes. Against real HTTP and hostile servers: fhirErrors.test.ts, integration/hostile.
 */
const request: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    { request: { method: 'POST', url: 'Patient?x=1' }, resource: { resourceType: 'Patient' } },
    { request: { method: 'PUT', url: 'ImagingStudy/1' }, resource: { resourceType: 'Patient' } },
  ],
};
const answered = (...statuses: (string | undefined)[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'transaction-response',
  entry: statuses.map((status) => (status === undefined ? {} : { response: { status } })),
});
const thrown = (work: () => unknown): Error => {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected an error');
};

describe('checkTransactionResponse', () => {
  it('every entry 2xx (with or without a reason phrase, leading space allowed): the response is returned', () => {
    const response = answered('201 Created', ' 299');
    assert.equal(checkTransactionResponse(request, response), response);
    const none: Bundle = { resourceType: 'Bundle', type: 'transaction' };
    const empty: Bundle = { resourceType: 'Bundle', type: 'transaction-response' };
    assert.equal(checkTransactionResponse(none, empty), empty, 'nothing sent, nothing answered');
  });

  for (const [what, body] of [
    ['a searchset', { resourceType: 'Bundle', type: 'searchset' }],
    ['an OperationOutcome', { resourceType: 'OperationOutcome', type: 'transaction-response' }],
    ['no body', undefined],
  ] as const) {
    it(`${what} is not a transaction-response: transient`, () => {
      const error = thrown(() => checkTransactionResponse(request, body));
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'transient');
      assert.equal(error.message, 'FHIR transaction answered 200 without a transaction-response Bundle');
    });
  }

  it('fewer or more entries than sent: transient, naming both counts', () => {
    for (const [response, message] of [
      [answered('201 Created'), 'FHIR transaction answered 1 entries for the 2 sent; not taken as a success'],
      [answered('201', '201', '201'), 'FHIR transaction answered 3 entries for the 2 sent; not taken as a success'],
      [
        { resourceType: 'Bundle', type: 'transaction-response' },
        'FHIR transaction answered 0 entries for the 2 sent; not taken as a success',
      ],
    ] as const) {
      const error = thrown(() => checkTransactionResponse(request, response));
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'transient');
      assert.equal(error.message, message);
    }
  });

  it('an entry without a usable status: transient, naming the entry by index, method and URL without its query', () => {
    for (const statuses of [
      ['OK', '201'],
      [undefined, '201'],
      ['', '201'],
      // A status that does not start with its code is not read as one (here the code of the protocol's line).
      ['HTTP/1.1 201 Created', '201'],
    ]) {
      const error = thrown(() => checkTransactionResponse(request, answered(...statuses)));
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'transient');
      assert.equal(
        error.message,
        'FHIR transaction entry 0 (POST Patient) has no response status; not taken as a success',
      );
    }
    const bare = thrown(() =>
      checkTransactionResponse({ resourceType: 'Bundle', type: 'transaction', entry: [{}] }, answered('x')),
    );
    assert.equal(bare.message, 'FHIR transaction entry 0 (? ?) has no response status; not taken as a success');
    const noUrl = thrown(() =>
      checkTransactionResponse(
        { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE' } as never }] },
        answered('x'),
      ),
    );
    assert.equal(noUrl.message, 'FHIR transaction entry 0 (DELETE ?) has no response status; not taken as a success');
  });

  it('an entry refused: the error its status stands for, with the entry named and its outcome described', () => {
    const outcome: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'conflict', diagnostics: 'version mismatch' }],
    };
    const response = answered('201 Created', '412 Precondition Failed');
    response.entry![1]!.response!.outcome = outcome;
    const conflict = thrown(() => checkTransactionResponse(request, response));
    assert.ok(conflict instanceof RetryableError);
    assert.equal(conflict.category, 'fhir-conflict');
    assert.equal(conflict.message, 'FHIR transaction entry 1 (PUT ImagingStudy/1) answered 412: version mismatch');
    for (const [status, kind, category] of [
      ['199', NonRetryableError, 'fhir-rejected'],
      ['300', NonRetryableError, 'configuration'],
      ['400 Bad Request', NonRetryableError, 'fhir-rejected'],
      ['503', RetryableError, 'transient'],
    ] as const) {
      const error = thrown(() => checkTransactionResponse(request, answered('200 OK', status)));
      assert.ok(error instanceof kind, status);
      assert.equal(error.category, category);
      assert.match(
        error.message,
        new RegExp(`^FHIR transaction entry 1 \\(PUT ImagingStudy/1\\) answered ${status.slice(0, 3)}`),
      );
    }
  });
});

describe('fhirStatusError: the status bands', () => {
  for (const [status, kind, category] of [
    [299, NonRetryableError, 'fhir-rejected'],
    [300, NonRetryableError, 'configuration'],
    [399, NonRetryableError, 'configuration'],
    [400, NonRetryableError, 'fhir-rejected'],
    [401, RetryableError, 'transient'],
    [408, RetryableError, 'transient'],
    [499, NonRetryableError, 'fhir-rejected'],
    [500, RetryableError, 'transient'],
  ] as const) {
    it(`${status} is ${category}`, () => {
      const error = fhirStatusError(status, undefined, 'search Patient');
      assert.ok(error instanceof kind);
      assert.equal(error.category, category);
    });
  }

  it('a redirect names the endpoint setting and says it is never followed', () => {
    const error = fhirStatusError(302, undefined, 'transaction');
    assert.ok(error instanceof NonRetryableError);
    assert.deepEqual(error.location, { setting: 'Fhir:Endpoint' });
    assert.match(
      error.message,
      /^FHIR transaction answered 302: a redirect, which is never followed \(no request, patient data included, is sent anywhere but Fhir:Endpoint\); check the endpoint URL/,
    );
  });
});

describe('describeOutcome: server text kept short and without credentials', () => {
  it('at most 20 issues and 1,000 characters; an echoed token is redacted; empty parts left out', () => {
    const issues = Array.from({ length: 25 }, (_, i) => ({
      severity: 'error' as const,
      code: 'invalid' as const,
      diagnostics: `issue ${i}`,
    }));
    const text = describeOutcome({ resourceType: 'OperationOutcome', issue: issues });
    assert.equal(
      text,
      issues
        .slice(0, 20)
        .map((issue) => issue.diagnostics)
        .join('; '),
    );
    const long = describeOutcome({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: 'x'.repeat(5000) }],
    });
    assert.equal(long.length, 1000);
    const echoed = describeOutcome({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'security', diagnostics: 'bad header Authorization: Bearer abc.def.ghi' }],
    });
    assert.doesNotMatch(echoed, /abc\.def\.ghi/);
    assert.equal(
      describeOutcome({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', diagnostics: '', expression: [] }],
      }),
      '',
    );
  });
});
