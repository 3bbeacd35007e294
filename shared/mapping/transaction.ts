import { createHash } from 'node:crypto';
import type {
  Bundle,
  BundleEntry,
  Endpoint,
  Identifier,
  ImagingStudy,
  Observation,
  Patient,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { Tag, getString, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { sameContent } from '../fhir/resourceEquality.js';
import { conditionalCreate, versionedDelete, versionedUpdate } from '../fhir/bundleEntries.js';
import { referenceTo } from '../fhir/versions.js';
import { compact } from './compact.js';
import {
  dicomUidSystem,
  doseObservationIdentity,
  doseObservationKind,
  doseObservationSearchParams,
  isDoseReport,
  toDoseObservations,
} from './doseObservations.js';
import { planDemographics, withDemographicsSource } from './demographicsSource.js';
import { endpointCreateCondition, toEndpoint } from './endpoint.js';
import { imagingStudySearchParams, studyWinner, toImagingStudy } from './imagingStudy.js';
import { replaceFirst } from './lists.js';
import { isOwnedBy, ownSource } from './ownership.js';
import { patientIdentifier, patientSearchParams, toPatient, type PatientIdentifier } from './patient.js';
import { tagLabel } from './tags.js';
import type { MappingOptions, StudyInstance, TagIssue } from './types.js';

/**
 * Building the FHIR transaction for one study from what FHIR holds (read by the caller) and what the DICOM
 * server holds. Pure: the writer and `dicom-cast map` (with an empty FHIR state) both call it, so what
 * `map` prints is what the writer would send.
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

/** A problem a validator found in a resource: where (FHIRPath) and what. */
export interface ResourceProblem {
  path: string;
  message: string;
}

export interface StudyTransactionInput {
  study: string;
  /** Every instance the DICOM server holds now for the study (WADO-RS study metadata). */
  datasets: DicomJsonDataset[];
  /** Highest change-feed sequence per SOP Instance UID: the instance stored last wins. */
  sequences?: ReadonlyMap<string, number>;
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
  /** SOP Instance UIDs the change-feed message names (a study that is not ours loses only those). */
  changedInstances?: readonly string[];
  /** Checks each resource before it goes into the Bundle; no check when unset. */
  validate?: (resource: Resource) => ResourceProblem[];
}

/** Something to record: an instance that fails (bad DICOM data) or a resource that fails validation. */
export interface PlanFailure {
  kind: 'bad-dicom-data' | 'invalid-resource';
  reason: string;
  series?: string;
  instance?: string;
  tag?: string;
  sequence?: number;
  /** For invalid resources: e.g. `Observation urn:oid:1.2.3` */
  resource?: string;
  problems?: ResourceProblem[];
}

export interface StudyTransactionPlan {
  /**
   * - `write`: send `bundle`;
   * - `unchanged`: FHIR already holds this;
   * - `keep`: the DICOM server holds instances but none is usable: leave FHIR as it is;
   * - `remove`: no instance is left: see buildStudyRemoval;
   * - `invalid`: a resource the study needs (Endpoint, Patient, ImagingStudy) fails validation: nothing is sent.
   */
  action: 'write' | 'unchanged' | 'keep' | 'remove' | 'invalid';
  bundle?: Bundle;
  /** bundle.entry indexes of conditional creates (answered 200: another writer created it first). */
  createIndexes: number[];
  /** bundle.entry indexes of the study's resources, when in the Bundle. */
  indexes: { endpoint?: number; patient?: number; imagingStudy?: number };
  /** Skipped tag values (warnings; with enforced validation they are failures instead). */
  warnings: TagIssue[];
  failures: PlanFailure[];
  instances: number;
  series: number;
  /** Instances left out of the ImagingStudy (missing or invalid tags). */
  rejectedInstances: number;
  observations: { created: number; updated: number; deleted: number; unchanged: number };
}

// ---------------------------------------------------------------------------------------------------------
// What to read

interface Screened {
  instances: StudyInstance[];
  failures: PlanFailure[];
}

/** Instances without the identifiers nothing can be done without are left out (and recorded). */
function screen(datasets: DicomJsonDataset[], sequences: ReadonlyMap<string, number> | undefined): Screened {
  const instances: StudyInstance[] = [];
  const failures: PlanFailure[] = [];
  for (const dataset of datasets) {
    const sop = getString(dataset, Tag.SOPInstanceUID);
    const series = getString(dataset, Tag.SeriesInstanceUID);
    const sequence = sop === undefined ? undefined : sequences?.get(sop);
    const missing = !sop
      ? { tag: Tag.SOPInstanceUID, keyword: 'SOPInstanceUID' }
      : !series
        ? { tag: Tag.SeriesInstanceUID, keyword: 'SeriesInstanceUID' }
        : !getString(dataset, Tag.PatientID)
          ? { tag: Tag.PatientID, keyword: 'PatientID' }
          : undefined;
    if (!missing) {
      instances.push(sequence === undefined ? { dataset } : { dataset, sequence });
      continue;
    }
    failures.push({
      kind: 'bad-dicom-data',
      reason: `Instance has no ${missing.keyword} ${tagLabel(missing.tag)}; it is left out of the ImagingStudy`,
      ...(series ? { series } : {}),
      ...(sop ? { instance: sop } : {}),
      tag: tagLabel(missing.tag),
      ...(sequence !== undefined ? { sequence } : {}),
    });
  }
  return { instances, failures };
}

/**
 * The identity of the Patient the study's data names (from the instance stored last that is usable), for
 * the caller to search before building; undefined when no instance is usable.
 */
export function studyPatientIdentity(
  input: Pick<StudyTransactionInput, 'study' | 'datasets' | 'sequences'>,
  options: MappingOptions,
): PatientIdentifier | undefined {
  const { instances } = screen(input.datasets, input.sequences);
  const winner = studyWinner(input.study, instances, options);
  return winner && patientIdentifier(winner.dataset, options);
}

const srSopClassPrefix = '1.2.840.10008.5.1.4.1.1.88.';

/**
 * Whether the caller must read the Observations that are part of the existing ImagingStudy
 * (`Observation?part-of=ImagingStudy/<id>`): only with GenerateObservations on, for a study FHIR already
 * holds, that has or had an SR instance. Other studies cost no extra request.
 */
export function needsObservationSearch(
  imagingStudy: ImagingStudy | undefined,
  datasets: DicomJsonDataset[],
  options: MappingOptions,
): boolean {
  if (!options.generateObservations || !imagingStudy?.id) return false;
  if (datasets.some(isDoseReport)) return true;
  return (imagingStudy.series ?? []).some((series) =>
    (series.instance ?? []).some((instance) =>
      (instance.sopClass.code ?? '').replace(/^urn:oid:/, '').startsWith(srSopClassPrefix),
    ),
  );
}

/** `Observation?part-of=ImagingStudy/<id>` */
export function observationSearchParams(imagingStudy: ImagingStudy): Record<string, string> {
  return { 'part-of': referenceTo(imagingStudy) };
}

// ---------------------------------------------------------------------------------------------------------
// Building

/** A `urn:uuid:` for a resource to create, derived from its identity so the same input gives the same Bundle. */
export function localFullUrl(...identity: string[]): string {
  const hex = createHash('sha256').update(identity.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function emptyPlan(action: StudyTransactionPlan['action']): StudyTransactionPlan {
  return {
    action,
    createIndexes: [],
    indexes: {},
    warnings: [],
    failures: [],
    instances: 0,
    series: 0,
    rejectedInstances: 0,
    observations: { created: 0, updated: 0, deleted: 0, unchanged: 0 },
  };
}

function issueFailure(issue: TagIssue, sequence: number | undefined): PlanFailure {
  return {
    kind: 'bad-dicom-data',
    reason: issue.value === undefined ? issue.reason : `${issue.reason}: ${JSON.stringify(issue.value)}`,
    ...(issue.series ? { series: issue.series } : {}),
    ...(issue.instance ? { instance: issue.instance } : {}),
    tag: issue.tag,
    ...(sequence !== undefined ? { sequence } : {}),
  };
}

/**
 * The transaction that brings FHIR in line with the DICOM server for one study. Reads nothing: `state` is what
 * the caller read from FHIR (an empty state gives the Bundle for an empty server).
 */
export function buildStudyTransaction(input: StudyTransactionInput, options: MappingOptions): StudyTransactionPlan {
  const { study, state } = input;
  const screened = screen(input.datasets, input.sequences);
  if (screened.instances.length === 0) {
    // Every instance unusable: leave FHIR as it is rather than deleting a study that does exist.
    const plan = emptyPlan(input.datasets.length > 0 ? 'keep' : 'remove');
    plan.failures = screened.failures;
    plan.rejectedInstances = screened.failures.length;
    return plan;
  }
  const sequenceOf = (sop: string | undefined) => (sop === undefined ? undefined : input.sequences?.get(sop));
  const owned = isOwnedBy(state.imagingStudy, ownSource(options.endpoint, input.partition));
  const entries: BundleEntry[] = [];
  const plan = emptyPlan('write');
  plan.failures.push(...screened.failures);

  // The Patient of the current data: the instance that wins the study-level attributes decides.
  const winner = studyWinner(study, screened.instances, options);
  let patient: Patient | undefined;
  let patientFullUrl: string | undefined;
  let patientIdentity: PatientIdentifier | undefined;
  if (winner) {
    patientIdentity = patientIdentifier(winner.dataset, options);
    const demographics = input.feedPosition
      ? planDemographics(state.patient, { feed: options.endpoint, study, ...input.feedPosition })
      : { nameAndSex: true, birthDate: input.applyDemographics };
    const mapped = toPatient(winner.dataset, state.patient, options, {
      applyDemographics: demographics.birthDate,
      applyNameAndSex: demographics.nameAndSex,
    });
    plan.warnings.push(...mapped.issues.filter((issue) => issue.severity === 'warning'));
    patient =
      'record' in demographics && demographics.record
        ? withDemographicsSource(mapped.patient, demographics.record)
        : mapped.patient;
    patientFullUrl = state.patient
      ? referenceTo(state.patient)
      : localFullUrl('Patient', patientIdentity.system, patientIdentity.value);
  }
  const patientReference = patientFullUrl ?? state.imagingStudy?.subject?.reference;
  const endpointFullUrl = state.endpoint ? referenceTo(state.endpoint) : localFullUrl('Endpoint', options.endpoint);
  const studyFullUrl = state.imagingStudy ? referenceTo(state.imagingStudy) : localFullUrl('ImagingStudy', study);

  const present = new Set(screened.instances.map((instance) => getString(instance.dataset, Tag.SOPInstanceUID)));
  const removeOnlyThese =
    owned || !state.imagingStudy
      ? undefined
      : new Set((input.changedInstances ?? []).filter((sop) => !present.has(sop)));
  const mapped = toImagingStudy(
    {
      studyUid: study,
      instances: screened.instances,
      ...(state.imagingStudy ? { existing: state.imagingStudy } : {}),
      ...(input.partition !== undefined ? { partition: input.partition } : {}),
      patientReference: patientReference ?? '',
      endpointReference: endpointFullUrl,
      ...(removeOnlyThese ? { removeOnlyThese } : {}),
    },
    options,
  );
  for (const rejected of mapped.rejectedInstances) {
    const sequence = sequenceOf(rejected.sop || undefined);
    plan.failures.push(...rejected.issues.filter((i) => i.severity === 'error').map((i) => issueFailure(i, sequence)));
  }
  plan.warnings.push(...mapped.issues);
  plan.rejectedInstances = screened.failures.length + mapped.rejectedInstances.length;
  let imagingStudy = mapped.imagingStudy;
  if (!imagingStudy) return { ...plan, action: 'remove' };
  if (patientReference === undefined) return { ...plan, action: 'keep' };
  if (state.imagingStudy && !owned) {
    // Not ours: keep whoever wrote it as its owner.
    imagingStudy = { ...imagingStudy, meta: { ...imagingStudy.meta, source: state.imagingStudy.meta?.source } };
  }
  plan.instances = imagingStudy.numberOfInstances ?? 0;
  plan.series = imagingStudy.numberOfSeries ?? 0;

  const check = (resource: Resource, label: string): boolean => {
    const problems = input.validate?.(resource) ?? [];
    if (problems.length === 0) return true;
    plan.failures.push({
      kind: 'invalid-resource',
      reason: `${label} is not valid FHIR R4: ${describeProblems(problems)}`,
      resource: label,
      problems,
    });
    return false;
  };

  if (!state.endpoint) {
    const endpoint = toEndpoint(options);
    if (!check(endpoint, `Endpoint ${options.endpoint}`)) return { ...plan, action: 'invalid' };
    plan.indexes.endpoint = entries.length;
    plan.createIndexes.push(entries.length);
    entries.push(conditionalCreate(endpoint, endpointFullUrl, endpointCreateCondition(options)));
  }
  if (patient && patientIdentity && (!state.patient || !sameContent(state.patient, patient))) {
    const label = `Patient ${patientIdentity.system}|${patientIdentity.value}`;
    if (!check(patient, label)) return { ...plan, action: 'invalid' };
    plan.indexes.patient = entries.length;
    if (!state.patient) {
      plan.createIndexes.push(entries.length);
      // Marked as ours, so a copy a conditional-create race left can be told from one a person made.
      const ours = { ...patient, meta: { ...patient.meta, source: options.endpoint } };
      const condition = state.plainCreate?.patient ? undefined : patientSearchParams(patientIdentity);
      entries.push(conditionalCreate(ours, patientFullUrl ?? '', condition));
    } else {
      entries.push(versionedUpdate(patient));
    }
  }

  const observationEntries = options.generateObservations
    ? doseObservationEntries(
        { input, screened, rejectedSops: new Set(mapped.rejectedInstances.map((r) => r.sop)), owned },
        { patientReference, studyFullUrl, accession: accessionOf(imagingStudy), check, plan },
        options,
      )
    : [];

  const studyChanged = !state.imagingStudy || !sameContent(state.imagingStudy, imagingStudy);
  if (entries.length === 0 && observationEntries.length === 0 && !studyChanged) {
    return { ...plan, action: 'unchanged' };
  }
  if (!check(imagingStudy, `ImagingStudy urn:oid:${study}`)) return { ...plan, action: 'invalid' };
  // The ImagingStudy is in every transaction (even unchanged) so its If-Match fences the whole write.
  plan.indexes.imagingStudy = entries.length;
  if (state.imagingStudy) {
    const { id, meta } = state.imagingStudy;
    entries.push(versionedUpdate({ ...imagingStudy, id, meta: { ...imagingStudy.meta, versionId: meta?.versionId } }));
  } else {
    plan.createIndexes.push(entries.length);
    const condition = state.plainCreate?.imagingStudy ? undefined : imagingStudySearchParams(study, input.partition);
    entries.push(conditionalCreate(imagingStudy, studyFullUrl, condition));
  }
  for (const { entry, create } of observationEntries) {
    if (create) plan.createIndexes.push(entries.length);
    entries.push(entry);
  }
  plan.bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
  return plan;
}

function accessionOf(imagingStudy: ImagingStudy): string | undefined {
  return imagingStudy.identifier?.find((identifier) =>
    identifier.type?.coding?.some((coding) => coding.code === 'ACSN'),
  )?.value;
}

function describeProblems(problems: ResourceProblem[]): string {
  const shown = problems.slice(0, 5).map((problem) => `${problem.path}: ${problem.message}`);
  if (problems.length > shown.length) shown.push(`… ${problems.length - shown.length} more`);
  return shown.join('; ');
}

// ---------------------------------------------------------------------------------------------------------
// Dose Observations

interface DoseSources {
  input: StudyTransactionInput;
  screened: Screened;
  /** SOP Instance UIDs left out of the ImagingStudy. */
  rejectedSops: Set<string>;
  owned: boolean;
}

interface DoseTargets {
  patientReference: string;
  studyFullUrl: string;
  accession: string | undefined;
  check: (resource: Resource, label: string) => boolean;
  plan: StudyTransactionPlan;
}

function observationKey(observation: Observation): string | undefined {
  const kind = doseObservationKind(observation);
  const identity = doseObservationIdentity(observation);
  return kind && identity ? `${kind} ${identity}` : undefined;
}

/** An Observation's partOf names the ImagingStudy (relative, or absolute on the server's base). */
function isPartOf(observation: Observation, studyReference: string): boolean {
  return (observation.partOf ?? []).some((part: Reference) => {
    const reference = part.reference ?? '';
    return reference === studyReference || reference.endsWith(`/${studyReference}`);
  });
}

/**
 * Entries that bring the study's dose Observations in line with its current dose SR instances: conditional
 * creates for new ones, If-Match updates for changed ones, deletes for ours whose SR instance is gone.
 * Ours are Observations partOf this ImagingStudy with a `urn:dicom:uid` identifier and our summary or
 * irradiation event code. Deletes happen only when every current instance could be read (an instance that
 * failed may be the SR whose Observations they are) and, for a study another server owns, never.
 */
function doseObservationEntries(
  sources: DoseSources,
  targets: DoseTargets,
  options: MappingOptions,
): { entry: BundleEntry; create: boolean }[] {
  const { input, screened, rejectedSops } = sources;
  const { plan } = targets;
  let deletionsAllowed = sources.owned || !input.state.imagingStudy;
  if (screened.failures.length > 0 || rejectedSops.size > 0) deletionsAllowed = false;

  // Stored-last instances are read last, so an irradiation event listed by two SRs takes the newer content.
  const reports = screened.instances
    .filter((instance) => isDoseReport(instance.dataset))
    .filter((instance) => !rejectedSops.has(getString(instance.dataset, Tag.SOPInstanceUID) ?? ''))
    .sort(
      (a, b) =>
        (a.sequence ?? -Infinity) - (b.sequence ?? -Infinity) ||
        compareText(getString(a.dataset, Tag.SOPInstanceUID) ?? '', getString(b.dataset, Tag.SOPInstanceUID) ?? ''),
    );
  const wanted = new Map<string, Observation>();
  for (const report of reports) {
    const result = toDoseObservations(
      report.dataset,
      {
        studyUid: input.study,
        patientReference: targets.patientReference,
        imagingStudyReference: targets.studyFullUrl,
        ...(targets.accession !== undefined ? { accession: targets.accession } : {}),
      },
      options,
    );
    const sop = getString(report.dataset, Tag.SOPInstanceUID);
    const errors = result.issues.filter((issue) => issue.severity === 'error');
    if (errors.length > 0) {
      deletionsAllowed = false;
      plan.failures.push(
        ...errors.map((issue) => issueFailure(issue, sop === undefined ? undefined : input.sequences?.get(sop))),
      );
    }
    plan.warnings.push(...result.issues.filter((issue) => issue.severity === 'warning'));
    for (const observation of result.observations) {
      const key = observationKey(observation);
      if (key) wanted.set(key, observation);
    }
  }

  // Ours among what FHIR holds, by identity; duplicates (DICOM Cast wrote them on replays) keep the lowest id.
  const studyReference = input.state.imagingStudy ? referenceTo(input.state.imagingStudy) : undefined;
  const existing = new Map<string, Observation[]>();
  for (const observation of input.state.observations ?? []) {
    const key = observationKey(observation);
    if (!key || !studyReference || !isPartOf(observation, studyReference)) continue;
    existing.set(key, [...(existing.get(key) ?? []), observation]);
  }
  for (const list of existing.values()) list.sort((a, b) => compareText(a.id ?? '', b.id ?? ''));

  // Matched by identity within this study once it exists: the same SR in another partition's study is another
  // Observation (for a new study such a match answers 200, a conflict; the retry then names the study).
  const observationCondition = (observation: Observation) => ({
    ...doseObservationSearchParams(observation),
    ...(studyReference ? { 'part-of': studyReference } : {}),
  });
  const out: { entry: BundleEntry; create: boolean }[] = [];
  for (const [key, observation] of wanted) {
    const [match, ...duplicates] = existing.get(key) ?? [];
    existing.delete(key);
    for (const duplicate of duplicates) {
      out.push({ entry: versionedDelete(duplicate), create: false });
      plan.observations.deleted++;
    }
    const label = `Observation ${key}`;
    if (!match) {
      if (!targets.check(observation, label)) continue;
      out.push({
        entry: conditionalCreate(observation, localFullUrl('Observation', key), observationCondition(observation)),
        create: true,
      });
      plan.observations.created++;
      continue;
    }
    const updated = mergeObservation(match, observation, studyReference ?? '');
    if (sameContent(match, updated)) {
      plan.observations.unchanged++;
      continue;
    }
    if (!targets.check(updated, label)) continue;
    out.push({ entry: versionedUpdate(updated), create: false });
    plan.observations.updated++;
  }
  if (deletionsAllowed) {
    for (const list of existing.values()) {
      for (const observation of list) {
        out.push({ entry: versionedDelete(observation), create: false });
        plan.observations.deleted++;
      }
    }
  }
  return out;
}

/**
 * The existing Observation with our content: identifiers, code, subject, partOf (this study), bodySite and
 * components replaced; id, meta, status and whatever else others added are kept.
 */
function mergeObservation(existing: Observation, wanted: Observation, studyReference: string): Observation {
  const merged = structuredClone(existing);
  const identity = doseObservationIdentity(wanted);
  const isIdentity = (identifier: Identifier) => identifier.system === dicomUidSystem && identifier.value === identity;
  const isAccession = (identifier: Identifier) =>
    identifier.type?.coding?.some((coding) => coding.code === 'ACSN') === true;
  const wantedIdentifiers = wanted.identifier ?? [];
  merged.identifier = replaceFirst(
    replaceFirst(merged.identifier ?? [], isIdentity, wantedIdentifiers.find(isIdentity)),
    isAccession,
    wantedIdentifiers.find(isAccession),
  );
  merged.code = structuredClone(wanted.code);
  merged.subject = structuredClone(wanted.subject);
  merged.partOf = replaceFirst(
    merged.partOf ?? [],
    (part) => part.reference === studyReference || (part.reference ?? '').endsWith(`/${studyReference}`),
    { reference: studyReference },
  );
  if (wanted.bodySite) merged.bodySite = structuredClone(wanted.bodySite);
  else delete merged.bodySite;
  if (wanted.component) merged.component = structuredClone(wanted.component);
  else delete merged.component;
  return compact(merged) ?? merged;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Removal

export interface StudyRemovalPlan {
  /** `delete`: send `bundle`; `absent`: nothing to delete; `not-owned`: another server's study, kept. */
  action: 'delete' | 'absent' | 'not-owned';
  bundle?: Bundle;
  observationsDeleted: number;
}

/**
 * The study has no instance left: delete its ImagingStudy when it is ours (meta.source is this DICOM server),
 * with our dose Observations that are part of it (read when `needsObservationSearch` said so).
 */
export function buildStudyRemoval(
  state: FhirStudyState,
  options: MappingOptions,
  partition?: string,
): StudyRemovalPlan {
  const existing = state.imagingStudy;
  if (!existing) return { action: 'absent', observationsDeleted: 0 };
  if (!isOwnedBy(existing, ownSource(options.endpoint, partition))) {
    return { action: 'not-owned', observationsDeleted: 0 };
  }
  const studyReference = referenceTo(existing);
  const observations = options.generateObservations
    ? (state.observations ?? []).filter(
        (observation) => observationKey(observation) !== undefined && isPartOf(observation, studyReference),
      )
    : [];
  return {
    action: 'delete',
    bundle: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [versionedDelete(existing), ...observations.map(versionedDelete)],
    },
    observationsDeleted: observations.length,
  };
}
