/**
 * Errors say, in their type, whether to retry (transient) or to record and move on (bad data).
 * Both carry where the problem is (study, series, instance, tag) so a failure record can name it.
 */
export interface ErrorLocation {
  study?: string;
  series?: string;
  instance?: string;
  tag?: string;
  setting?: string;
  /** A resource this app built, e.g. `Observation event urn:oid:1.2.3`. */
  resource?: string;
}

/** A problem a validator found in a resource: where (FHIRPath) and what. */
export interface ResourceProblem {
  path: string;
  message: string;
}

/**
 * Something that could not be synchronised: what kind, why and where, and what it takes to replay it. The one shape
 * every part of the app records (a failure record is this plus its id and time); `failureOf` makes one from an error.
 */
export interface Failure extends ErrorLocation {
  category: ErrorCategory;
  reason: string;
  /** The change-feed sequence the failure belongs to. */
  sequence?: number;
  /** Deliveries of the message so far. */
  attempts?: number;
  /** Enough to replay: the raw change-feed row or the StudyMessage. */
  payload?: unknown;
  /** `invalid-resource`: what the validator found (the reason names the first few). */
  problems?: ResourceProblem[];
}

export type ErrorCategory =
  | 'bad-change-feed-entry'
  | 'bad-dicom-data'
  | 'dicom-not-found'
  | 'fhir-conflict'
  | 'fhir-rejected'
  /** A resource the writer built is not valid FHIR R4: refused before sending (a mapping gap, never retried). */
  | 'invalid-resource'
  | 'ambiguous-identity'
  | 'configuration'
  | 'transient';

abstract class LocatedError extends Error {
  /** Also a type brand: without it the two subclasses are the same type to TypeScript and mix freely. */
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    readonly category: ErrorCategory,
    readonly location: ErrorLocation = {},
    options?: { cause?: unknown },
  ) {
    super(withLocation(message, location), options);
    this.name = new.target.name;
  }
}

/** Bad data or a permanent refusal: record it and carry on; retrying will not help. */
export class NonRetryableError extends LocatedError {
  readonly retryable = false;
}

/** A fault that may pass (network, 5xx, throttling, optimistic-concurrency conflict): retry. */
export class RetryableError extends LocatedError {
  readonly retryable = true;
}

/** A configuration problem found at start; names the setting, never its value. */
export class ConfigurationError extends NonRetryableError {
  constructor(message: string, setting: string) {
    super(message, 'configuration', { setting });
  }
}

export function withLocation(message: string, location: ErrorLocation): string {
  const parts: string[] = [];
  if (location.study) parts.push(`study ${location.study}`);
  if (location.series) parts.push(`series ${location.series}`);
  if (location.instance) parts.push(`instance ${location.instance}`);
  if (location.tag) parts.push(`tag ${location.tag}`);
  if (location.setting) parts.push(`setting ${location.setting}`);
  if (location.resource) parts.push(`resource ${location.resource}`);
  return parts.length ? `${message} (${parts.join(', ')})` : message;
}

/** The failure an error stands for: its category, its message as the reason, and where it is. */
export function failureOf(error: NonRetryableError | RetryableError): Failure {
  return { category: error.category, reason: error.message, ...error.location };
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof NonRetryableError) return false;
  return true;
}
