import { RetryableError } from '../errors/errors.js';

/** Another writer changed what this sync read: read again and retry (syncStudy does, with backoff). */
export class ConflictRetry extends RetryableError {
  /**
   * The ImagingStudy version this sync's own transaction wrote before the conflict showed (it committed, and a
   * conditional create in it found another writer's resource): the next pass may keep the DICOM metadata that
   * write was based on while FHIR still holds this version (see metadataReuse.ts).
   */
  writtenImagingStudy?: { id: string; versionId: string };

  constructor(study: string, why: string, cause?: unknown) {
    super(
      `Another writer changed the FHIR resources of the study first (${why})`,
      'fhir-conflict',
      { study },
      { cause },
    );
  }
}
