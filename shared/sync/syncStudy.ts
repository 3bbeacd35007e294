import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { getString, Tag, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import type { StudyReader } from '../dicomweb/studyReader.js';
import { NonRetryableError, RetryableError, type ErrorCategory } from '../errors/errors.js';
import type { FhirClient } from '../fhir/fhirClient.js';
import { sameContent } from '../fhir/resourceEquality.js';
import { ifMatchOf, referenceTo } from '../fhir/versions.js';
import {
  endpointSearchParams,
  imagingStudySearchParams,
  isDicomWebEndpoint,
  patientIdentifier,
  patientSearchParams,
  toEndpoint,
  toImagingStudy,
  toPatient,
  type MappingOptions,
  type StudyInstance,
  type TagIssue,
} from '../mapping/index.js';
import type { StudyMessage } from '../queue/studyMessage.js';

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
  log?: (level: 'info' | 'warn' | 'error', message: string, properties?: Record<string, unknown>) => void;
  /** Waits between conflict retries; injectable so tests need not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

export interface StudySyncOptions {
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
}

interface FhirState {
  imagingStudy?: ImagingStudy;
  endpoint?: Endpoint;
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

function searchQuery(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function conditionalCreate(resource: Resource, fullUrl: string, params: Record<string, string>): BundleEntry {
  return {
    fullUrl,
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: searchQuery(params) },
  };
}

function versionedUpdate(resource: Resource): BundleEntry {
  const ifMatch = ifMatchOf(resource);
  return {
    fullUrl: referenceTo(resource),
    resource,
    request: { method: 'PUT', url: referenceTo(resource), ...(ifMatch ? { ifMatch } : {}) },
  };
}

/** A conditional create answered 200 means another writer created it first: our content was not written. */
function someoneElseCreated(response: Bundle, createIndexes: number[]): boolean {
  return createIndexes.some((index) => response.entry?.[index]?.response?.status?.startsWith('200') ?? false);
}

function idFromLocation(response: Bundle, index: number): string | undefined {
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
  const state: FhirState = {
    imagingStudy: await findOne<ImagingStudy>(fhir, 'ImagingStudy', imagingStudySearchParams(study), study),
    endpoint: await findEndpoint(fhir, mapping, study),
  };
  const owned = state.imagingStudy?.meta?.source === mapping.endpoint;

  // 2. What the DICOM server holds now.
  const datasets = await deps.dicom.readStudyMetadata(study, message.partition);
  const { accepted, rejected } = await screenInstances(study, datasets, message, deps);
  const missing = await recordListedButMissing(message, datasets, deps);
  const base = {
    study,
    instances: 0,
    series: 0,
    warnings: [] as TagIssue[],
    rejectedInstances: rejected,
  };

  if (accepted.length === 0) {
    if (datasets.length > 0) {
      // Every instance is unusable: leave FHIR as it is rather than deleting a study that does exist.
      return { ...base, outcome: 'unchanged', imagingStudyId: state.imagingStudy?.id };
    }
    if (missing > 0) {
      // The feed said these instances were current, the server says the study is gone: the delete rows of a
      // later poll will say which is true. Deleting on a 404 alone could wipe a study over a server glitch.
      return { ...base, outcome: 'unchanged', imagingStudyId: state.imagingStudy?.id };
    }
    return await removeStudy(message, state, owned, deps);
  }

  // 3. The Patient of the current data: the instance that wins the study-level attributes decides.
  const sequences = instanceSequences(message);
  const instances: StudyInstance[] = accepted.map((dataset) => {
    const sequence = sequences.get(getString(dataset, Tag.SOPInstanceUID) ?? '');
    return sequence === undefined ? { dataset } : { dataset, sequence };
  });
  const winner = pickWinner(instances);
  const identifier = patientIdentifier(winner.dataset, mapping);
  const existingPatient = await findOne<Patient>(fhir, 'Patient', patientSearchParams(identifier), study);
  const applyDemographics = !existingPatient || message.changes.some((change) => change.action === 'update');
  const { patient, issues: patientIssues } = toPatient(winner.dataset, existingPatient, mapping, {
    applyDemographics,
  });

  const entries: BundleEntry[] = [];
  const createIndexes: number[] = [];
  const endpointFullUrl = state.endpoint ? referenceTo(state.endpoint) : `urn:uuid:${randomUUID()}`;
  if (!state.endpoint) {
    createIndexes.push(entries.length);
    entries.push(conditionalCreate(toEndpoint(mapping), endpointFullUrl, endpointSearchParams(mapping)[0] ?? {}));
  }
  const patientFullUrl = existingPatient ? referenceTo(existingPatient) : `urn:uuid:${randomUUID()}`;
  const patientChanged = !existingPatient || !sameContent(existingPatient, patient);
  if (!existingPatient) {
    createIndexes.push(entries.length);
    entries.push(conditionalCreate(patient, patientFullUrl, patientSearchParams(identifier)));
  } else if (patientChanged) {
    entries.push(versionedUpdate(patient));
  }

  const removeOnlyThese = owned || !state.imagingStudy ? undefined : vanishedInstances(message, accepted);
  const mapped = toImagingStudy(
    {
      studyUid: study,
      instances,
      ...(state.imagingStudy ? { existing: state.imagingStudy } : {}),
      patientReference: patientFullUrl,
      endpointReference: endpointFullUrl,
      ...(removeOnlyThese ? { removeOnlyThese } : {}),
    },
    mapping,
  );
  for (const rejectedInstance of mapped.rejectedInstances) {
    await recordIssues(rejectedInstance.issues, message, deps);
  }
  const warnings = [...patientIssues, ...mapped.issues];
  for (const warning of warnings) deps.log?.('warn', `Tag warning: ${warning.reason}`, { ...warning });
  let imagingStudy = mapped.imagingStudy;
  if (!imagingStudy) {
    return await removeStudy(message, state, owned, deps);
  }
  if (state.imagingStudy && !owned) {
    // Not ours: keep whoever wrote it as its owner.
    imagingStudy = { ...imagingStudy, meta: { ...imagingStudy.meta, source: state.imagingStudy.meta?.source } };
  }

  const studyChanged = !state.imagingStudy || !sameContent(state.imagingStudy, imagingStudy);
  const counts = {
    instances: imagingStudy.numberOfInstances ?? 0,
    series: imagingStudy.numberOfSeries ?? 0,
  };
  if (entries.length === 0 && !studyChanged) {
    return {
      ...base,
      ...counts,
      warnings,
      rejectedInstances: rejected + mapped.rejectedInstances.length,
      outcome: 'unchanged',
      imagingStudyId: state.imagingStudy?.id,
      patientId: existingPatient?.id,
      endpointId: state.endpoint?.id,
    };
  }
  // The ImagingStudy is in every transaction (even unchanged) so its If-Match fences the whole write.
  const studyIndex = entries.length;
  if (state.imagingStudy) {
    const { id, meta } = state.imagingStudy;
    entries.push(versionedUpdate({ ...imagingStudy, id, meta: { ...imagingStudy.meta, versionId: meta?.versionId } }));
  } else {
    createIndexes.push(studyIndex);
    entries.push(conditionalCreate(imagingStudy, `urn:uuid:${randomUUID()}`, imagingStudySearchParams(study)));
  }

  const response = await fhir.transaction({ resourceType: 'Bundle', type: 'transaction', entry: entries });
  if (someoneElseCreated(response, createIndexes)) {
    throw new ConflictRetry(study, 'a conditional create found an existing resource');
  }
  const patientIndex = entries.findIndex((entry) => entry.resource?.resourceType === 'Patient');
  return {
    ...base,
    ...counts,
    warnings,
    rejectedInstances: rejected + mapped.rejectedInstances.length,
    outcome: state.imagingStudy ? 'updated' : 'created',
    imagingStudyId: state.imagingStudy?.id ?? idFromLocation(response, studyIndex),
    patientId: existingPatient?.id ?? (patientIndex >= 0 ? idFromLocation(response, patientIndex) : undefined),
    endpointId: state.endpoint?.id ?? idFromLocation(response, 0),
  };
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

/** Highest change-feed sequence wins; unknown sequences lose; ties go to the highest SOP Instance UID. */
function pickWinner(instances: StudyInstance[]): StudyInstance {
  let best = instances[0] as StudyInstance;
  for (const candidate of instances.slice(1)) {
    const a = candidate.sequence ?? -1;
    const b = best.sequence ?? -1;
    if (a > b) best = candidate;
    else if (a === b) {
      const aUid = getString(candidate.dataset, Tag.SOPInstanceUID) ?? '';
      const bUid = getString(best.dataset, Tag.SOPInstanceUID) ?? '';
      if (aUid > bUid) best = candidate;
    }
  }
  return best;
}

/** Instances the message names that the DICOM server no longer holds. */
function vanishedInstances(message: StudyMessage, current: DicomJsonDataset[]): Set<string> {
  const present = new Set(current.map((dataset) => getString(dataset, Tag.SOPInstanceUID)));
  return new Set(message.changes.filter((change) => !present.has(change.sop)).map((change) => change.sop));
}

/**
 * Instances without the identifiers the writer cannot do without are recorded and left out;
 * the rest of the study goes on.
 */
async function screenInstances(
  study: string,
  datasets: DicomJsonDataset[],
  message: StudyMessage,
  deps: StudySyncDeps,
): Promise<{ accepted: DicomJsonDataset[]; rejected: number }> {
  const accepted: DicomJsonDataset[] = [];
  let rejected = 0;
  const sequences = instanceSequences(message);
  for (const dataset of datasets) {
    const sop = getString(dataset, Tag.SOPInstanceUID);
    const series = getString(dataset, Tag.SeriesInstanceUID);
    const missing = !sop
      ? { tag: '(0008,0018)', keyword: 'SOPInstanceUID' }
      : !series
        ? { tag: '(0020,000E)', keyword: 'SeriesInstanceUID' }
        : !getString(dataset, Tag.PatientID)
          ? { tag: '(0010,0020)', keyword: 'PatientID' }
          : undefined;
    if (!missing) {
      accepted.push(dataset);
      continue;
    }
    rejected++;
    const sequence = sop ? sequences.get(sop) : undefined;
    await deps.recordFailure({
      category: 'bad-dicom-data',
      reason: `Instance has no ${missing.keyword} ${missing.tag}; it is left out of the ImagingStudy`,
      study,
      ...(series ? { series } : {}),
      ...(sop ? { instance: sop } : {}),
      tag: missing.tag,
      ...(sequence !== undefined ? { sequence } : {}),
      payload: message,
    });
  }
  return { accepted, rejected };
}

async function recordIssues(issues: TagIssue[], message: StudyMessage, deps: StudySyncDeps): Promise<void> {
  for (const issue of issues.filter((candidate) => candidate.severity === 'error')) {
    await deps.recordFailure({
      category: 'bad-dicom-data',
      reason: issue.reason,
      study: issue.study,
      ...(issue.series ? { series: issue.series } : {}),
      ...(issue.instance ? { instance: issue.instance } : {}),
      tag: issue.tag,
      payload: message,
    });
  }
}

async function removeStudy(
  message: StudyMessage,
  state: FhirState,
  owned: boolean,
  deps: StudySyncDeps,
): Promise<Omit<StudySyncResult, 'attempts'>> {
  const base = { study: message.study, instances: 0, series: 0, warnings: [], rejectedInstances: 0 };
  const existing = state.imagingStudy;
  if (!existing) return { ...base, outcome: 'absent' };
  if (!owned) {
    deps.log?.(
      'warn',
      `ImagingStudy ${existing.id ?? ''} of study ${message.study} is not owned by this DICOM server; kept`,
    );
    return { ...base, outcome: 'unchanged', imagingStudyId: existing.id };
  }
  const ifMatch = ifMatchOf(existing);
  await deps.fhir.transaction({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ request: { method: 'DELETE', url: referenceTo(existing), ...(ifMatch ? { ifMatch } : {}) } }],
  });
  return { ...base, outcome: 'deleted', imagingStudyId: existing.id };
}
