import { getReferenceString } from '@medplum/core';
import type { Identifier, ImagingStudy, Observation, Reference } from '@medplum/fhirtypes';
import { Tag, getString, type DicomJsonDataset } from '../../dicomweb/dicomJson.js';
import { conditionalCreate, versionedDelete, versionedUpdate } from '../../fhir/bundleEntries.js';
import { sameContent } from '../../fhir/resourceEquality.js';
import { compareText } from '../../lib/compareText.js';
import { accessionOf, isAccession } from '../accession.js';
import { compact } from '../compact.js';
import {
  dicomUidSystem,
  doseObservationIdentity,
  doseObservationKind,
  doseObservationSearchParams,
  isDoseReport,
  toDoseObservations,
} from '../doseObservations.js';
import { replaceFirst } from '../lists.js';
import type { MappingOptions } from '../types.js';
import { issueFailure, localFullUrl, type EntryPlanner, type PlanContext, type PlannedEntry } from './plan.js';

const srSopClassPrefix = '1.2.840.10008.5.1.4.1.1.88.';

/**
 * Whether the caller must read the Observations that are part of the existing ImagingStudy
 * (`Observation?part-of=ImagingStudy/<id>`): only with GenerateObservations on, for a study FHIR already
 * holds, that has or had an SR instance. Other studies cost no extra request. `current`: the study's instances, or
 * whether one of them is a dose report (ScreenedStudy.hasDoseReport, when they were screened as they arrived).
 */
export function needsObservationSearch(
  imagingStudy: ImagingStudy | undefined,
  current: readonly DicomJsonDataset[] | boolean,
  options: MappingOptions,
): boolean {
  if (!options.generateObservations || !imagingStudy?.id) return false;
  if (typeof current === 'boolean' ? current : current.some(isDoseReport)) return true;
  return (imagingStudy.series ?? []).some((series) =>
    (series.instance ?? []).some((instance) =>
      (instance.sopClass.code ?? '').replace(/^urn:oid:/, '').startsWith(srSopClassPrefix),
    ),
  );
}

/** `Observation?part-of=ImagingStudy/<id>` */
export function observationSearchParams(imagingStudy: ImagingStudy): Record<string, string> {
  return { 'part-of': getReferenceString(imagingStudy) ?? '' };
}

/** `<kind> <identity>` of one of our dose Observations; undefined for any other Observation. */
function observationKey(observation: Observation): string | undefined {
  const kind = doseObservationKind(observation);
  const identity = doseObservationIdentity(observation);
  return kind && identity ? `${kind} ${identity}` : undefined;
}

/** A reference names the ImagingStudy (relative, or absolute on the server's base). */
function refersTo(part: Reference, studyReference: string): boolean {
  const reference = part.reference ?? '';
  return reference === studyReference || reference.endsWith(`/${studyReference}`);
}

function isPartOf(observation: Observation, studyReference: string): boolean {
  return (observation.partOf ?? []).some((part) => refersTo(part, studyReference));
}

/** Our dose Observations among those read: partOf the ImagingStudy, with our identifier and code. */
export function ourDoseObservations(observations: readonly Observation[], studyReference: string): Observation[] {
  return observations.filter(
    (observation) => observationKey(observation) !== undefined && isPartOf(observation, studyReference),
  );
}

/**
 * Entries that bring the study's dose Observations in line with its current dose SR instances: conditional
 * creates for new ones, If-Match updates for changed ones, deletes for ours whose SR instance is gone.
 * Ours are Observations partOf this ImagingStudy with a `urn:dicom:uid` identifier and our summary or
 * irradiation event code. Deletes happen only when every current instance could be read (an instance that
 * failed may be the SR whose Observations they are) and, for a study another server owns, never.
 */
export const planDoseObservations: EntryPlanner = (context) => {
  if (!context.options.generateObservations) return [];
  const { input, report } = context;
  const { wanted, complete } = wantedObservations(context);
  const deletionsAllowed = complete && (context.owned || !input.state.imagingStudy);

  // Ours among what FHIR holds, by identity; duplicates (DICOM Cast wrote them on replays) keep the lowest id.
  const studyReference = input.state.imagingStudy && getReferenceString(input.state.imagingStudy);
  const existing = new Map<string, Observation[]>();
  for (const observation of studyReference ? ourDoseObservations(input.state.observations ?? [], studyReference) : []) {
    const key = observationKey(observation) ?? '';
    existing.set(key, [...(existing.get(key) ?? []), observation]);
  }
  for (const list of existing.values()) list.sort((a, b) => compareText(a.id ?? '', b.id ?? ''));

  // Matched by identity within this study once it exists: the same SR in another partition's study is another
  // Observation (for a new study such a match answers 200, a conflict; the retry then names the study).
  const observationCondition = (observation: Observation) => ({
    ...doseObservationSearchParams(observation),
    ...(studyReference ? { 'part-of': studyReference } : {}),
  });
  const out: PlannedEntry[] = [];
  const remove = (observation: Observation) => {
    out.push({ entry: versionedDelete(observation), role: 'standalone' });
    report.observations.deleted++;
  };
  for (const [key, observation] of wanted) {
    const [match, ...duplicates] = existing.get(key) ?? [];
    existing.delete(key);
    duplicates.forEach(remove);
    const label = `Observation ${key}`;
    if (!match) {
      if (!context.check(observation, label)) continue;
      const fullUrl = localFullUrl('Observation', key);
      const entry = conditionalCreate(observation, fullUrl, observationCondition(observation));
      out.push({ entry, role: 'standalone', ifFound: 'conflict' });
      report.observations.created++;
      continue;
    }
    const updated = mergeObservation(match, observation, studyReference ?? '');
    if (sameContent(match, updated)) {
      report.observations.unchanged++;
      continue;
    }
    if (!context.check(updated, label)) continue;
    out.push({ entry: versionedUpdate(updated), role: 'standalone' });
    report.observations.updated++;
  }
  if (deletionsAllowed) for (const list of existing.values()) list.forEach(remove);
  return out;
};

/**
 * The Observations the current dose SR instances give, by key, and whether every instance could be read (else
 * one that could not may be the SR of Observations FHIR holds: they are not deleted).
 */
function wantedObservations(context: PlanContext): { wanted: Map<string, Observation>; complete: boolean } {
  const { input, screened, report } = context;
  const rejectedSops = new Set(screened.read.rejectedInstances.map((rejected) => rejected.sop));
  let complete = screened.failures.length === 0 && rejectedSops.size === 0;
  const sopOf = (dataset: DicomJsonDataset) => getString(dataset, Tag.SOPInstanceUID);
  // Stored-last instances are read last, so an irradiation event listed by two SRs takes the newer content.
  const reports = screened.doseReports
    .filter((instance) => !rejectedSops.has(sopOf(instance.dataset) ?? ''))
    .sort(
      (a, b) =>
        (a.sequence ?? -Infinity) - (b.sequence ?? -Infinity) ||
        compareText(sopOf(a.dataset) ?? '', sopOf(b.dataset) ?? ''),
    );
  const accession = accessionOf(context.imagingStudy);
  const wanted = new Map<string, Observation>();
  for (const instance of reports) {
    const result = toDoseObservations(
      instance.dataset,
      {
        studyUid: input.study,
        patientReference: context.references.patient,
        imagingStudyReference: context.references.imagingStudy,
        ...(accession !== undefined ? { accession } : {}),
      },
      context.options,
    );
    const sop = sopOf(instance.dataset);
    const errors = result.issues.filter((issue) => issue.severity === 'error');
    if (errors.length > 0) {
      complete = false;
      const sequence = sop === undefined ? undefined : input.sequences?.get(sop);
      report.failures.push(...errors.map((issue) => issueFailure(issue, sequence)));
    }
    report.warnings.push(...result.issues.filter((issue) => issue.severity === 'warning'));
    for (const observation of result.observations) {
      const key = observationKey(observation);
      if (key) wanted.set(key, observation);
    }
  }
  return { wanted, complete };
}

/**
 * The existing Observation with our content: identifiers, code, subject, partOf (this study), bodySite and
 * components replaced; id, meta, status and whatever else others added are kept.
 */
function mergeObservation(existing: Observation, wanted: Observation, studyReference: string): Observation {
  const merged = structuredClone(existing);
  const identity = doseObservationIdentity(wanted);
  const isIdentity = (identifier: Identifier) => identifier.system === dicomUidSystem && identifier.value === identity;
  const wantedIdentifiers = wanted.identifier ?? [];
  merged.identifier = replaceFirst(
    replaceFirst(merged.identifier ?? [], isIdentity, wantedIdentifiers.find(isIdentity)),
    isAccession,
    wantedIdentifiers.find(isAccession),
  );
  merged.code = structuredClone(wanted.code);
  if (wanted.subject) merged.subject = structuredClone(wanted.subject);
  else delete merged.subject;
  merged.partOf = replaceFirst(merged.partOf ?? [], (part) => refersTo(part, studyReference), {
    reference: studyReference,
  });
  if (wanted.bodySite) merged.bodySite = structuredClone(wanted.bodySite);
  else delete merged.bodySite;
  if (wanted.component) merged.component = structuredClone(wanted.component);
  else delete merged.component;
  return compact(merged) ?? merged;
}
