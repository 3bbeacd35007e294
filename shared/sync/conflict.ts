import { RetryableError } from '../errors/errors.js';

/** Another writer changed what this sync read: read again and retry (syncStudy does, with backoff). */
export class ConflictRetry extends RetryableError {
  constructor(study: string, why: string, cause?: unknown) {
    super(
      `Another writer changed the FHIR resources of the study first (${why})`,
      'fhir-conflict',
      { study },
      { cause },
    );
  }
}
