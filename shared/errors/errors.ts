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
  return parts.length ? `${message} (${parts.join(', ')})` : message;
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof NonRetryableError) return false;
  return true;
}
