import type { StudyReader } from '../dicomweb/studyReader.js';
import type { Failure } from '../errors/errors.js';
import type { SearchingClient } from '../fhir/searchBatch.js';
import type { Log } from '../logging/log.js';
import type { MappingOptions, ResourceValidator, TagIssue } from '../mapping/index.js';

// The writer's contract: what syncStudy needs, what it may be told, and what it answers.

export interface StudySyncDeps {
  dicom: StudyReader;
  /** With `batch`, the reads of a pass go in one request each (see shared/fhir/searchBatch.ts). */
  fhir: SearchingClient;
  /** Records a failure with the study and the message to replay it (`payload`). */
  recordFailure: (failure: Failure) => Promise<void>;
  /** Keeps the tag warnings of this sync (values included) where people can read them; telemetry never gets values. */
  recordWarnings?: (study: string, warnings: readonly TagIssue[]) => Promise<void>;
  log?: Log;
  /** Waits between conflict retries; injectable so tests need not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Checks each resource against FHIR R4 before it is sent; a resource that fails is recorded
   * ('invalid-resource') instead of being sent. Default: shared/validation's validateR4 (imported when first
   * needed); `false`: no check.
   */
  validate?: ResourceValidator | false;
}

export interface StudySyncOptions {
  /** Includes `generateObservations` (DicomCast:Features:GenerateObservations). */
  mapping: MappingOptions;
  /** Attempts when another writer keeps winning the race (412, or a conditional create answered 200). */
  maxAttempts?: number;
  /** `Fhir:MaxBundleEntries`: no Bundle sent has more entries (default 500, the AHDS limit). */
  maxBundleEntries?: number;
  /**
   * Read only the series a change names when FHIR's ImagingStudy holds at least this many instances (default 1000;
   * smaller studies are one request either way); seriesReads.ts says when it is done and when the whole study is read.
   */
  seriesReadsFrom?: number;
}

export type StudySyncOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent';

export interface StudySyncResult {
  study: string;
  outcome: StudySyncOutcome;
  attempts: number;
  instances: number;
  series: number;
  imagingStudyId?: string;
  patientId?: string;
  endpointId?: string;
  warnings: TagIssue[];
  rejectedInstances: number;
  /** Dose Observations written by this sync (GenerateObservations). */
  observations?: { created: number; updated: number; deleted: number };
  /** Duplicate copies of the study's identities: ours removed (merged into the kept one), others' left alone. */
  duplicates?: { removed: number; othersKept: string[] };
}

/** One pass over the study; `restart` asks for another pass at once (duplicates merged, entries deferred). */
export type SyncPass = { restart: string } | Omit<StudySyncResult, 'attempts' | 'duplicates'>;
