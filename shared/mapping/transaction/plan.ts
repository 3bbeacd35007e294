import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import type { DicomJsonDataset } from '../../dicomweb/dicomJson.js';
import type { Failure, ResourceProblem } from '../../errors/errors.js';
import type { PatientIdentifier } from '../patient.js';
import type { MappingOptions, TagIssue } from '../types.js';
import type { ScreenedStudy } from './screen.js';

/**
 * The types of a study's transaction plan: what the planners get (`PlanContext`), what each returns (`PlannedEntry`)
 * and what the assembler returns (`StudyPlan`). Pure: the writer and `dicom-cast map` (with an empty FHIR state)
 * both build it, so what `map` prints is what the writer would send.
 */

/** What FHIR holds for the study, as the caller read it. */
export interface FhirStudyState {
  imagingStudy?: ImagingStudy;
  endpoint?: Endpoint;
  /** The Patient found for `studyPatientIdentity` (the caller searches for it). */
  patient?: Patient;
  /** Observations whose partOf is the ImagingStudy; read when `needsObservationSearch` says so. */
  observations?: Observation[];
  /**
   * Resources to create without If-None-Exist: the server's search for them returned other resources (it
   * matches loosely, e.g. case-insensitively), so its conditional create would match one of those instead.
   */
  plainCreate?: { patient?: boolean; imagingStudy?: boolean };
}

export interface StudyTransactionInput {
  study: string;
  /** Every instance the DICOM server holds now for the study (WADO-RS study metadata); unset when `screened` is set. */
  datasets?: DicomJsonDataset[];
  /** Highest change-feed sequence per SOP Instance UID: the instance stored last wins. */
  sequences?: ReadonlyMap<string, number>;
  /**
   * The study's instances as screenStudy (or a StudyScreener, as they arrived) screened them, when the caller
   * already did (the writer: for the Patient search, and so as never to hold the whole study's datasets).
   */
  screened?: ScreenedStudy;
  state: FhirStudyState;
  /** Write birthDate (a new Patient, or an `update` change-feed action); used when `feedPosition` is unset. */
  applyDemographics: boolean;
  /**
   * Where the message stands in the change feed (demographicsSource.ts): the Patient takes the demographics of the
   * study with the newest entry. Unset (`dicom-cast map`): the study's data is written as DICOM Cast did.
   */
  feedPosition?: { sequence?: number; updateSequence?: number };
  /** The study's data partition (undefined or `Microsoft.Default`: the default one); part of its identity. */
  partition?: string;
  /**
   * Set when the caller read only these series (sync/seriesReads.ts proved the rest unchanged): the other series are
   * kept as the ImagingStudy FHIR holds them.
   */
  readSeries?: ReadonlySet<string>;
  /** SOP Instance UIDs the change-feed message names (a study that is not ours loses only those). */
  changedInstances?: readonly string[];
  /** Checks each resource before it goes into the Bundle; no check when unset. */
  validate?: ResourceValidator;
  /** `Fhir:MaxBundleEntries`: no Bundle has more entries; unset, the transaction is one Bundle. */
  maxBundleEntries?: number;
}

/**
 * A resource's problems (none: valid). `heldParts`: parts of the resource that are objects FHIR holds as they are
 * (an ImagingStudy's series kept as read), which the validator may skip: the server accepted them.
 */
export type ResourceValidator = (resource: Resource, heldParts?: ReadonlySet<object>) => ResourceProblem[];

/** The study's own resources: the ImagingStudy and what it references. Their writes are read back by this name. */
export type StudyRole = 'endpoint' | 'patient' | 'imagingStudy';

/** One entry of the transaction and its role in it. */
export interface PlannedEntry {
  entry: BundleEntry;
  /**
   * A `StudyRole`: part of the fence, sent together in the last Bundle (the ImagingStudy's write, whose If-Match
   * fences the whole transaction, and what it references); `standalone`: an entry that holds on its own (idempotent
   * by identifier, or fenced by its own If-Match), sent earlier when the transaction is split.
   */
  role: StudyRole | 'standalone';
  /**
   * A conditional create, and what an answer 200 (it found an existing one) means: `conflict`, another writer was
   * first (read again); `same`, it is the one we would have written (the Endpoint: its content is its identity).
   */
  ifFound?: 'conflict' | 'same';
}

/** A Bundle to send, with the planned entry of each of its entries (`bundle.entry[i]` is `entries[i].entry`). */
export interface PlannedBundle {
  bundle: Bundle;
  entries: PlannedEntry[];
}

/** How a transaction is sent within `Fhir:MaxBundleEntries` (see splitTransaction). */
export interface PlannedTransaction {
  /** Every entry, in order: the whole transaction (what `dicom-cast map` prints). */
  bundle: Bundle;
  /** Sent first, in order: standalone entries that do not fit with the fence. */
  before: PlannedBundle[];
  /** Sent last: the fence with what fits; its response says what was created. */
  fenced: PlannedBundle;
  /** Entries that reference what the fenced Bundle creates and did not fit: the next pass writes them. */
  deferred: number;
}

/** What a plan found out, whatever it decided. */
export interface PlanReport {
  /** Skipped tag values (warnings; with enforced validation they are failures instead). */
  warnings: TagIssue[];
  failures: Failure[];
  instances: number;
  series: number;
  /** Instances left out of the ImagingStudy (missing or invalid tags). */
  rejectedInstances: number;
  observations: { created: number; updated: number; deleted: number; unchanged: number };
}

/** The study has no instance left: delete its ImagingStudy when it is ours, with our dose Observations of it. */
export type StudyRemovalPlan =
  | { action: 'delete'; transaction: PlannedTransaction; observationsDeleted: number }
  /** Nothing to delete. */
  | { action: 'absent' }
  /** Another server's study: kept. */
  | { action: 'not-owned' };

export type StudyPlan = PlanReport &
  (
    | { action: 'write'; transaction: PlannedTransaction }
    /** FHIR already holds this. */
    | { action: 'unchanged' }
    /** The DICOM server holds instances but none is usable: leave FHIR as it is. */
    | { action: 'keep' }
    /** No instance is left. */
    | { action: 'remove'; removal: StudyRemovalPlan }
    /** A resource the study needs (Endpoint, Patient, ImagingStudy) fails validation: nothing is sent. */
    | { action: 'invalid' }
  );

/** What every planner gets: the study, what FHIR holds, the mapped resources and where to report. */
export interface PlanContext {
  input: StudyTransactionInput;
  options: MappingOptions;
  screened: ScreenedStudy;
  /** The study's resources as mapped from the current data (the Patient is undefined when no instance wins). */
  patient: { resource: Patient; identity: PatientIdentifier } | undefined;
  imagingStudy: ImagingStudy;
  /** Whether the ImagingStudy is ours (meta.source is this DICOM server), or new. */
  owned: boolean;
  /** fullUrls the entries reference each other by: the existing resource's reference, else a local `urn:uuid:`. */
  references: { patient: string; endpoint: string; imagingStudy: string };
  report: PlanReport;
  /**
   * Validates a resource; a problem is recorded as an invalid-resource failure and false returned. `heldParts`: see
   * ResourceValidator.
   */
  check: (resource: Resource, label: string, heldParts?: ReadonlySet<object>) => boolean;
}

/** A planner of one resource kind: its entries, or `invalid` when a resource the study needs fails validation. */
export type EntryPlanner = (context: PlanContext) => PlannedEntry[] | 'invalid';

/** A `urn:uuid:` for a resource to create, derived from its identity so the same input gives the same Bundle. */
export function localFullUrl(...identity: string[]): string {
  const hex = createHash('sha256').update(identity.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function emptyReport(): PlanReport {
  return {
    warnings: [],
    failures: [],
    instances: 0,
    series: 0,
    rejectedInstances: 0,
    observations: { created: 0, updated: 0, deleted: 0, unchanged: 0 },
  };
}

/** A tag error of an instance, as the failure it is recorded as. */
export function issueFailure(issue: TagIssue, sequence: number | undefined): Failure {
  return {
    category: 'bad-dicom-data',
    reason: issue.value === undefined ? issue.reason : `${issue.reason}: ${JSON.stringify(issue.value)}`,
    study: issue.study,
    ...(issue.series ? { series: issue.series } : {}),
    ...(issue.instance ? { instance: issue.instance } : {}),
    tag: issue.tag,
    ...(sequence !== undefined ? { sequence } : {}),
  };
}

/** The check every planner uses: `validate`'s problems become an invalid-resource failure naming the resource. */
export function resourceCheck(input: StudyTransactionInput, report: PlanReport): PlanContext['check'] {
  return (resource, label, heldParts) => {
    const problems = input.validate?.(resource, heldParts) ?? [];
    if (problems.length === 0) return true;
    report.failures.push({
      category: 'invalid-resource',
      reason: `${label} is not valid FHIR R4: ${describeProblems(problems)}`,
      study: input.study,
      resource: label,
      problems,
    });
    return false;
  };
}

function describeProblems(problems: ResourceProblem[]): string {
  const shown = problems.slice(0, 5).map((problem) => `${problem.path}: ${problem.message}`);
  if (problems.length > shown.length) shown.push(`… ${problems.length - shown.length} more`);
  return shown.join('; ');
}
