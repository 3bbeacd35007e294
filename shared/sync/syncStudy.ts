import type { Bundle, Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { getString, Tag, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { screenDicomJson } from '../dicomweb/dicomJsonShape.js';
import type { StudyReader } from '../dicomweb/studyReader.js';
import { NonRetryableError, RetryableError, type ErrorCategory } from '../errors/errors.js';
import type { FhirClient } from '../fhir/fhirClient.js';
import {
  endpointSearchParams,
  imagingStudySearchParams,
  isDicomWebEndpoint,
  patientSearchParams,
  type MappingOptions,
  type TagIssue,
} from '../mapping/index.js';
import {
  buildStudyRemoval,
  buildStudyTransaction,
  needsObservationSearch,
  observationSearchParams,
  studyPatientIdentity,
  type FhirStudyState,
  type PlanFailure,
  type ResourceProblem,
  type StudyTransactionInput,
  type StudyTransactionPlan,
} from '../mapping/transaction.js';
import { asBadData } from '../mapping/unexpectedError.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { validateR4 } from '../validation/index.js';

/** What the writer records when part of a study cannot be written (bad data); enough to find and replay it. */
export interface SyncFailure {
  category: ErrorCategory;
  reason: string;
  study: string;
  series?: string;
  instance?: string;
  tag?: string;
  sequence?: number;
  payload?: unknown;
}

export interface StudySyncDeps {
  dicom: StudyReader;
  fhir: FhirClient;
  recordFailure: (failure: SyncFailure) => Promise<void>;
  /** Keeps the tag warnings of this sync (values included) where people can read them; telemetry never gets values. */
  recordWarnings?: (study: string, warnings: readonly TagIssue[]) => Promise<void>;
  log?: (level: 'info' | 'warn' | 'error', message: string, properties?: Record<string, unknown>) => void;
  /** Waits between conflict retries; injectable so tests need not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Checks each resource against FHIR R4 before it is sent; a resource that fails is recorded
   * ('invalid-resource') instead of being sent. Default: shared/validation's validateR4; `false`: no check.
   */
  validate?: ((resource: Resource) => ResourceProblem[]) | false;
}

export interface StudySyncOptions {
  /** Includes `generateObservations` (DicomCast:Features:GenerateObservations). */
  mapping: MappingOptions;
  /** Attempts when another writer keeps winning the race (412, or a conditional create answered 200). */
  maxAttempts?: number;
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
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function findOne<T extends Resource>(
  fhir: FhirClient,
  resourceType: T['resourceType'],
  params: Record<string, string>,
  study: string,
): Promise<T | undefined> {
  const found = await fhir.search<T>(resourceType, params);
  if (found.length > 1) {
    const ids = found.map((resource) => resource.id).join(', ');
    throw new NonRetryableError(
      `${found.length} ${resourceType} resources match ${new URLSearchParams(params).toString()} (${ids}); resolve the duplicates by hand`,
      'ambiguous-identity',
      { study },
    );
  }
  return found[0];
}

async function findEndpoint(fhir: FhirClient, mapping: MappingOptions, study: string): Promise<Endpoint | undefined> {
  // A name search matches by prefix, so other servers' endpoints can come back: keep only ours.
  for (const params of endpointSearchParams(mapping)) {
    const found = (await fhir.search<Endpoint>('Endpoint', params)).filter((endpoint) =>
      isDicomWebEndpoint(endpoint, mapping),
    );
    if (found.length > 1) {
      throw new NonRetryableError(
        `${found.length} Endpoint resources for ${mapping.endpoint} (${found.map((e) => e.id).join(', ')}); resolve the duplicates by hand`,
        'ambiguous-identity',
        { study },
      );
    }
    if (found[0]) return found[0];
  }
  return undefined;
}

function instanceSequences(message: StudyMessage): Map<string, number> {
  const sequences = new Map<string, number>();
  for (const change of message.changes) {
    sequences.set(change.sop, Math.max(sequences.get(change.sop) ?? -1, change.sequence));
  }
  return sequences;
}

/** A conditional create answered 200 means another writer created it first: our content was not written. */
function someoneElseCreated(response: Bundle, createIndexes: number[]): boolean {
  return createIndexes.some((index) => response.entry?.[index]?.response?.status?.startsWith('200') ?? false);
}

function idFromLocation(response: Bundle, index: number | undefined): string | undefined {
  if (index === undefined) return undefined;
  const location = response.entry?.[index]?.response?.location;
  return location?.split('/')[1];
}

class ConflictRetry extends RetryableError {
  constructor(study: string, why: string) {
    super(`Another writer changed the FHIR resources of the study first (${why})`, 'fhir-conflict', { study });
  }
}

/**
 * Brings FHIR in line with what the DICOM server holds now for one study.
 * Reads FHIR before DICOM and writes with If-Match / If-None-Exist, so a write based on stale DICOM data
 * can only succeed if nobody wrote since it read FHIR, which makes the final state independent of the
 * order in which messages arrive. Every transaction touches the ImagingStudy, which makes it the fence.
 */
export async function syncStudy(
  message: StudyMessage,
  deps: StudySyncDeps,
  options: StudySyncOptions,
): Promise<StudySyncResult> {
  const maxAttempts = options.maxAttempts ?? 10;
  const sleep = deps.sleep ?? defaultSleep;
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      return { ...(await syncOnce(message, deps, options)), attempts: attempt };
    } catch (error) {
      if (!(error instanceof RetryableError) || error.category !== 'fhir-conflict') throw error;
      lastConflict = error;
      deps.log?.('info', `Conflict on study ${message.study}, retrying`, { attempt });
      await sleep(Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
  throw new RetryableError(
    `Gave up after ${maxAttempts} attempts: other writers kept changing study ${message.study}`,
    'fhir-conflict',
    { study: message.study },
    { cause: lastConflict },
  );
}

async function syncOnce(
  message: StudyMessage,
  deps: StudySyncDeps,
  options: StudySyncOptions,
): Promise<Omit<StudySyncResult, 'attempts'>> {
  const { fhir } = deps;
  const mapping = options.mapping;
  const study = message.study;

  // 1. FHIR first (see the comment on syncStudy).
  const state: FhirStudyState = {};
  const imagingStudy = await findOne<ImagingStudy>(fhir, 'ImagingStudy', imagingStudySearchParams(study), study);
  if (imagingStudy) state.imagingStudy = imagingStudy;
  const endpoint = await findEndpoint(fhir, mapping, study);
  if (endpoint) state.endpoint = endpoint;

  // 2. What the DICOM server holds now.
  const returned = await deps.dicom.readStudyMetadata(study, message.partition);
  const missing = await recordListedButMissing(message, returned, deps);
  const { datasets, malformed } = screenDicomJson(returned);
  await recordMalformed(malformed, message, deps);
  if (datasets.length === 0 && malformed.length > 0) {
    // Nothing readable is not the same as nothing left: keep FHIR as it is.
    return { study, outcome: 'unchanged', instances: 0, series: 0, warnings: [], rejectedInstances: malformed.length };
  }

  // 3. The rest of what the transaction depends on: the Patient the data names, and the dose Observations
  // already written for the study. Both are read after DICOM, which is safe: every write carries the
  // ImagingStudy's If-Match, so anything written since step 1 turns our write into a retry.
  const sequences = instanceSequences(message);
  const identity = mapped(study, () => studyPatientIdentity({ study, datasets, sequences }, mapping));
  if (identity) {
    const patient = await findOne<Patient>(fhir, 'Patient', patientSearchParams(identity), study);
    if (patient) state.patient = patient;
  }
  if (state.imagingStudy && needsObservationSearch(state.imagingStudy, datasets, mapping)) {
    state.observations = await fhir.search<Observation>('Observation', observationSearchParams(state.imagingStudy));
  }

  const input: StudyTransactionInput = {
    study,
    datasets,
    sequences,
    state,
    applyDemographics: !state.patient || message.changes.some((change) => change.action === 'update'),
    changedInstances: message.changes.map((change) => change.sop),
    ...(deps.validate !== false ? { validate: deps.validate ?? validateR4 } : {}),
  };
  const plan = mapped(study, () => buildStudyTransaction(input, mapping));
  plan.rejectedInstances += malformed.length;
  await recordPlan(plan, message, deps);

  const result = {
    study,
    instances: plan.instances,
    series: plan.series,
    warnings: plan.warnings,
    rejectedInstances: plan.rejectedInstances,
  };
  switch (plan.action) {
    case 'keep':
      // Every instance is unusable: leave FHIR as it is rather than deleting a study that does exist.
      return { ...result, outcome: 'unchanged', imagingStudyId: state.imagingStudy?.id };
    case 'remove':
      if (datasets.length === 0 && missing > 0) {
        // The feed said these instances were current, the server says the study is gone: the delete rows of a
        // later poll will say which is true. Deleting on a 404 alone could wipe a study over a server glitch.
        return { ...result, outcome: 'unchanged', imagingStudyId: state.imagingStudy?.id };
      }
      return await removeStudy(message, state, datasets, deps, mapping);
    case 'invalid':
      throw invalidResourceError(plan, study);
    case 'unchanged':
      return {
        ...result,
        outcome: 'unchanged',
        imagingStudyId: state.imagingStudy?.id,
        patientId: state.patient?.id,
        endpointId: state.endpoint?.id,
      };
    case 'write':
      break;
  }

  const response = await fhir.transaction(plan.bundle ?? { resourceType: 'Bundle', type: 'transaction' });
  // An Endpoint found by its conditional create is the one we would have written (its content is its identity),
  // and the transaction resolved our reference to it; a Patient, ImagingStudy or Observation is not: retry.
  const mustBeOurs = plan.createIndexes.filter((index) => index !== plan.indexes.endpoint);
  if (someoneElseCreated(response, mustBeOurs)) {
    throw new ConflictRetry(study, 'a conditional create found an existing resource');
  }
  const { created, updated, deleted } = plan.observations;
  return {
    ...result,
    outcome: state.imagingStudy ? 'updated' : 'created',
    imagingStudyId: state.imagingStudy?.id ?? idFromLocation(response, plan.indexes.imagingStudy),
    patientId: state.patient?.id ?? idFromLocation(response, plan.indexes.patient),
    endpointId: state.endpoint?.id ?? idFromLocation(response, plan.indexes.endpoint),
    ...(mapping.generateObservations ? { observations: { created, updated, deleted } } : {}),
  };
}

/**
 * Tag policy: a missing required tag (SOPInstanceUID, SeriesInstanceUID, PatientID, Modality, SOPClassUID) fails
 * that instance only, recorded as 'bad-dicom-data'; an invalid optional value is skipped and logged as a tag
 * warning (tag, keyword, value, location), or, with EnforceValidationOfTagValues, fails the instance and is
 * recorded like a missing tag. A resource that is not valid R4 is recorded as 'invalid-resource'.
 */
async function recordPlan(plan: StudyTransactionPlan, message: StudyMessage, deps: StudySyncDeps): Promise<void> {
  for (const failure of plan.failures) {
    // A resource the study cannot do without is recorded once, by the handler, from the thrown error.
    if (plan.action === 'invalid' && failure.kind === 'invalid-resource') continue;
    await deps.recordFailure(toSyncFailure(failure, message));
  }
  for (const warning of plan.warnings) {
    deps.log?.('warn', `Tag warning: ${warning.keyword} ${warning.tag} ${warning.reason}`, { ...warning });
  }
  if (plan.warnings.length > 0) await deps.recordWarnings?.(message.study, plan.warnings);
}

function toSyncFailure(failure: PlanFailure, message: StudyMessage): SyncFailure {
  return {
    category: failure.kind,
    reason: failure.reason,
    study: message.study,
    ...(failure.series ? { series: failure.series } : {}),
    ...(failure.instance ? { instance: failure.instance } : {}),
    ...(failure.tag ? { tag: failure.tag } : {}),
    ...(failure.sequence !== undefined ? { sequence: failure.sequence } : {}),
    payload: message,
  };
}

function invalidResourceError(plan: StudyTransactionPlan, study: string): NonRetryableError {
  const reasons = plan.failures.filter((failure) => failure.kind === 'invalid-resource').map((f) => f.reason);
  return new NonRetryableError(`Not sent: ${reasons.join('; ')}`, 'invalid-resource', { study });
}

/** Runs pure mapping code; an exception it did not mean to throw is bad data of the study, not a transient fault. */
function mapped<T>(study: string, map: () => T): T {
  try {
    return map();
  } catch (error) {
    throw asBadData(error, { study });
  }
}

/** Instances whose DICOM JSON is malformed are left out of the study, each recorded where it is wrong. */
async function recordMalformed(
  malformed: ReturnType<typeof screenDicomJson>['malformed'],
  message: StudyMessage,
  deps: StudySyncDeps,
): Promise<void> {
  const sequences = instanceSequences(message);
  for (const instance of malformed) {
    const sequence = instance.instance === undefined ? undefined : sequences.get(instance.instance);
    await deps.recordFailure({
      category: 'bad-dicom-data',
      study: message.study,
      ...instance,
      ...(sequence !== undefined ? { sequence } : {}),
      payload: message,
    });
  }
}

/**
 * Instances the change feed listed as current (at poll time) that the DICOM server does not return: recorded with
 * the sequence, so the failure can be replayed; usually deleted since the poll, which a later message confirms.
 */
async function recordListedButMissing(
  message: StudyMessage,
  datasets: DicomJsonDataset[],
  deps: StudySyncDeps,
): Promise<number> {
  const present = new Set(datasets.map((dataset) => getString(dataset, Tag.SOPInstanceUID)));
  const missing = message.changes.filter(
    (change) => change.state === 'current' && change.action !== 'delete' && !present.has(change.sop),
  );
  for (const change of missing) {
    await deps.recordFailure({
      category: 'dicom-not-found',
      reason: `The change feed listed this instance as current (sequence ${change.sequence}, ${change.action}) but the DICOM server does not return it; it is not in FHIR`,
      study: message.study,
      series: change.series,
      instance: change.sop,
      sequence: change.sequence,
      payload: message,
    });
  }
  return missing.length;
}

async function removeStudy(
  message: StudyMessage,
  state: FhirStudyState,
  datasets: DicomJsonDataset[],
  deps: StudySyncDeps,
  mapping: MappingOptions,
): Promise<Omit<StudySyncResult, 'attempts'>> {
  const base = { study: message.study, instances: 0, series: 0, warnings: [], rejectedInstances: 0 };
  const existing = state.imagingStudy;
  if (existing && !state.observations && needsObservationSearch(existing, datasets, mapping)) {
    state.observations = await deps.fhir.search<Observation>('Observation', observationSearchParams(existing));
  }
  const removal = buildStudyRemoval(state, mapping);
  switch (removal.action) {
    case 'absent':
      return { ...base, outcome: 'absent' };
    case 'not-owned':
      deps.log?.(
        'warn',
        `ImagingStudy ${existing?.id ?? ''} of study ${message.study} is not owned by this DICOM server; kept`,
      );
      return { ...base, outcome: 'unchanged', imagingStudyId: existing?.id };
    case 'delete':
      await deps.fhir.transaction(removal.bundle ?? { resourceType: 'Bundle', type: 'transaction' });
      return {
        ...base,
        outcome: 'deleted',
        imagingStudyId: existing?.id,
        ...(mapping.generateObservations
          ? { observations: { created: 0, updated: 0, deleted: removal.observationsDeleted } }
          : {}),
      };
  }
}
