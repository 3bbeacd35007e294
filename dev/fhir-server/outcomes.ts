import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { errorMessage } from '../../shared/lib/errorDetails.js';

/** A failed FHIR interaction: the HTTP status to answer with and the OperationOutcome that explains it. */
export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
  ) {
    super(outcome.issue?.map((issue) => issue.diagnostics ?? issue.details?.text).join('; ') ?? `HTTP ${status}`);
    this.name = 'FhirError';
  }
}

type IssueCode = OperationOutcomeIssue['code'];

export function operationOutcome(code: IssueCode, diagnostics: string, expression?: string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, ...(expression?.length ? { expression } : {}) }],
  };
}

export function fhirError(status: number, code: IssueCode, diagnostics: string, expression?: string[]): FhirError {
  return new FhirError(status, operationOutcome(code, diagnostics, expression));
}

export const badRequest = (diagnostics: string, expression?: string[]): FhirError =>
  fhirError(400, 'invalid', diagnostics, expression);
export const notFound = (diagnostics: string): FhirError => fhirError(404, 'not-found', diagnostics);
export const gone = (diagnostics: string): FhirError => fhirError(410, 'deleted', diagnostics);
export const preconditionFailed = (diagnostics: string): FhirError => fhirError(412, 'conflict', diagnostics);

/** Any thrown value as a FhirError; unexpected errors become 500s rather than crashing the server. */
export function toFhirError(error: unknown): FhirError {
  if (error instanceof FhirError) {
    return error;
  }
  const message = errorMessage(error);
  return fhirError(500, 'exception', message);
}

/** Prefixes every issue's diagnostics with where it happened, e.g. `Bundle.entry[2]`; expressions stay resource paths. */
export function locateError(error: FhirError, location: string): FhirError {
  const issue = (error.outcome.issue ?? []).map((i) => ({
    ...i,
    diagnostics: `${location}: ${i.diagnostics ?? i.details?.text ?? ''}`,
  }));
  return new FhirError(error.status, { ...error.outcome, issue });
}
