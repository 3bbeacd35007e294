import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { redactSecrets } from '../telemetry/redaction.js';

/** The most of a server's diagnostics kept in an error (they can be megabytes; the point is what and where). */
const maxDetailChars = 1_000;

/**
 * The diagnostics of an OperationOutcome, which name what the server rejected and where. Server-supplied text:
 * credentials are redacted (a server may echo the Authorization header) and the length is capped.
 */
export function describeOutcome(data: unknown): string {
  const outcome = data as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return '';
  const text = outcome.issue
    .slice(0, 20)
    .map((issue) =>
      [issue.diagnostics ?? issue.details?.text ?? issue.code, issue.expression?.join(', ')]
        .filter((part) => typeof part === 'string' && part !== '')
        .join(' at '),
    )
    .join('; ');
  return redactSecrets(text).slice(0, maxDetailChars);
}

/** Turns a FHIR status that is not success into an error that says whether to retry; never includes request headers. */
export function fhirStatusError(status: number, body: unknown, what: string): Error {
  const detail = describeOutcome(body);
  const message = `FHIR ${what} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 409 || status === 412) return new RetryableError(message, 'fhir-conflict');
  if (status === 401 || status === 408 || status === 429 || status >= 500)
    return new RetryableError(message, 'transient');
  if (status >= 300 && status < 400) {
    return new NonRetryableError(
      `${message}: a redirect, which is never followed (no request, patient data included, is sent anywhere but Fhir:Endpoint); check the endpoint URL`,
      'configuration',
      { setting: 'Fhir:Endpoint' },
    );
  }
  return new NonRetryableError(message, 'fhir-rejected');
}

/**
 * A transaction answered 200 is a success only when it is a transaction-response with one entry per request
 * entry, each with a 2xx status. Anything else is an error: a body that is not a transaction-response (a proxy's
 * page) is transient (resending is safe: see fhirClient.transaction); an entry refused is named by its index.
 */
export function checkTransactionResponse(request: Bundle, body: unknown): Bundle {
  const response = body as Bundle | undefined;
  if (response?.resourceType !== 'Bundle' || response.type !== 'transaction-response') {
    throw new RetryableError('FHIR transaction answered 200 without a transaction-response Bundle', 'transient');
  }
  const sent = request.entry?.length ?? 0;
  const entries = response.entry ?? [];
  if (entries.length !== sent) {
    throw new RetryableError(
      `FHIR transaction answered ${entries.length} entries for the ${sent} sent; not taken as a success`,
      'transient',
    );
  }
  entries.forEach((entry, index) => {
    const statusText = entry.response?.status ?? '';
    const status = Number(/^\s*(\d{3})/.exec(statusText)?.[1] ?? NaN);
    if (status >= 200 && status < 300) return;
    const requestEntry = request.entry?.[index]?.request;
    const what = `transaction entry ${index} (${requestEntry?.method ?? '?'} ${requestEntry?.url?.split('?')[0] ?? '?'})`;
    throw Number.isNaN(status)
      ? new RetryableError(`FHIR ${what} has no response status; not taken as a success`, 'transient')
      : fhirStatusError(status, entry.response?.outcome, what);
  });
  return response;
}
