import type {
  Coding,
  Identifier,
  ImagingStudy,
  ImagingStudySeries,
  ImagingStudySeriesInstance,
} from '@medplum/fhirtypes';
import { pointsAt } from '../fhir/versions.js';
import { compareText } from '../lib/compareText.js';
import { accessionIdentifier, isAccession } from './accession.js';
import { CodeSystem } from './codes.js';
import { compact } from './compact.js';
import { toFhirDateTime } from './dates.js';
import type { InstanceRecord, RejectedInstance, SeriesAttributes } from './instanceRecord.js';
import { replaceFirst } from './lists.js';
import { hasExactIdentifier, ownSource, studyIdentifierSystem } from './ownership.js';
import { tokenSearchValue } from './search.js';
import { latest, readStudyInstances, type StudyInstancesRead } from './studyInstances.js';
import type { MappingOptions, StudyInstance, TagIssue } from './types.js';

/**
 * The ImagingStudy's identity: `urn:dicom:uid` / `urn:oid:<StudyInstanceUID>` in the default partition (DICOM
 * Cast's), `urn:dicom-cast:partition:<name>` / `urn:oid:<StudyInstanceUID>` in a named one.
 */
export function imagingStudyIdentifier(studyUid: string, partition?: string): Identifier {
  return { system: studyIdentifierSystem(partition), value: `urn:oid:${studyUid}` };
}

/** `ImagingStudy?identifier=<system>|urn:oid:<uid>` (see imagingStudyIdentifier). */
export function imagingStudySearchParams(studyUid: string, partition?: string): Record<string, string> {
  const { system, value } = imagingStudyIdentifier(studyUid, partition);
  return { identifier: tokenSearchValue(system ?? '', value ?? '') };
}

/** Whether a search result really carries the study's identity (exactly; see hasExactIdentifier). */
export function isImagingStudyOf(imagingStudy: ImagingStudy, studyUid: string, partition?: string): boolean {
  const { system, value } = imagingStudyIdentifier(studyUid, partition);
  return hasExactIdentifier(imagingStudy.identifier, system ?? '', value ?? '');
}

export interface ImagingStudyInput {
  studyUid: string;
  /** The study's current instances per the DICOM server; unused when toImagingStudy is given them read. */
  instances?: StudyInstance[];
  /** The ImagingStudy as read from FHIR. */
  existing?: ImagingStudy;
  /** e.g. `Patient/123` or `urn:uuid:…` */
  patientReference: string;
  endpointReference: string;
  /** The study's data partition (undefined or `Microsoft.Default`: the default one). */
  partition?: string;
  /**
   * Set when the study is not ours (its meta.source is another server's): existing instances are then
   * removed only when their uid is listed. Unset (ours): whatever is not current is removed.
   */
  removeOnlyThese?: Set<string>;
  /**
   * Set when only these series' instances were read (the writer reads the series a change names): every other
   * series of `existing` is kept as it is, its instances not being in `instances`.
   */
  readSeries?: ReadonlySet<string>;
}

export interface ImagingStudyResult {
  /** Undefined when no instance is left. */
  imagingStudy: ImagingStudy | undefined;
  /** Warnings about values in use that were skipped; rejected instances carry their own issues. */
  issues: TagIssue[];
  rejectedInstances: RejectedInstance[];
  /** SOP Instance UID of the instance whose study-level attributes won. */
  studyAttributesFrom?: string;
}

/**
 * The ImagingStudy for a study's current instances, merged into the existing resource, whose other content
 * (id, meta, notes, other endpoints and identifiers, order of series and instances) is kept. Pure, and
 * independent of the order of `instances`. `read`: the instances already read (the writer reads them once a sync).
 */
export function toImagingStudy(
  input: ImagingStudyInput,
  options: MappingOptions,
  read: StudyInstancesRead = readStudyInstances(input.studyUid, input.instances ?? [], options),
): ImagingStudyResult {
  const { records, rejectedInstances } = read;
  const studyWinner = read.winner?.record;
  const offset = studyWinner?.study.offset ?? options.defaultTimezoneOffset;
  const { series, issues: seriesIssues } = reconcileSeries(input, records, rejectedInstances, offset);

  const result: ImagingStudyResult = {
    imagingStudy: undefined,
    issues: [...(studyWinner?.issues.study ?? []), ...seriesIssues],
    rejectedInstances,
  };
  if (studyWinner) result.studyAttributesFrom = studyWinner.sop;
  if (series.length === 0) return result;

  const study: ImagingStudy = input.existing
    ? structuredClone(withoutSeries(input.existing))
    : { resourceType: 'ImagingStudy', status: 'available', subject: {} };
  // A study another server wrote stays theirs: claiming it would let us delete their instances later.
  study.meta = { ...study.meta, source: study.meta?.source ?? ownSource(options.endpoint, input.partition) };
  study.status = 'available';
  study.subject = { reference: input.patientReference };
  // Any form of our Endpoint's reference (absolute, versioned) is ours already: adding it again would list it twice.
  if (!study.endpoint?.some((endpoint) => pointsAt(endpoint, input.endpointReference))) {
    study.endpoint = [...(study.endpoint ?? []), { reference: input.endpointReference }];
  }
  const identity = imagingStudyIdentifier(input.studyUid, input.partition);
  study.identifier = replaceFirst(
    study.identifier ?? [],
    (identifier) => identifier.system === identity.system && identifier.value === identity.value,
    identity,
  );
  if (studyWinner) applyStudyAttributes(study, studyWinner, options);
  study.modality = studyModalities(series);
  study.numberOfSeries = series.length;
  study.numberOfInstances = series.reduce((total, item) => total + (item.instance?.length ?? 0), 0);

  const compacted = compact(study);
  if (compacted) {
    // A series kept as FHIR holds it (the very object of `existing`) is FHIR's valid JSON already; compacting
    // copies of those is what made a change to a large study cost in proportion to the whole study.
    const held = new Set(input.existing?.series);
    compacted.series = series
      .map((item) => (held.has(item) ? item : compact(item)))
      .filter((item) => item !== undefined);
    result.imagingStudy = compacted;
  }
  return result;
}

/** The study without its series, which are rebuilt (reconcileSeries): copying them first would be wasted. */
function withoutSeries(study: ImagingStudy): ImagingStudy {
  const { series: _rebuilt, ...rest } = study;
  return rest;
}

/** Number ascending (unnumbered last), then uid: the order new series and instances are appended in. */
function compareNumberThenUid(a: { number?: number; uid: string }, b: { number?: number; uid: string }): number {
  const numberA = a.number ?? Infinity;
  const numberB = b.number ?? Infinity;
  if (numberA !== numberB) return numberA < numberB ? -1 : 1;
  return compareText(a.uid, b.uid);
}

interface BuiltSeries {
  series: ImagingStudySeries;
  issues: TagIssue[];
}

/**
 * Existing series and instances in their order, updated from the current records; instances no longer
 * current are removed (only those in `removeOnlyThese` when that is set); rejected instances keep their
 * old entry; new instances and series are appended; series left empty are dropped.
 */
function reconcileSeries(
  input: ImagingStudyInput,
  records: Map<string, InstanceRecord>,
  rejectedInstances: RejectedInstance[],
  offset: string,
): { series: ImagingStudySeries[]; issues: TagIssue[] } {
  const rejected = new Set(rejectedInstances.map((instance) => instance.sop));
  const removable = (uid: string) => !rejected.has(uid) && (input.removeOnlyThese?.has(uid) ?? true);
  const bySeries = new Map<string, InstanceRecord[]>();
  for (const record of records.values()) {
    const list = bySeries.get(record.series);
    if (list) list.push(record);
    else bySeries.set(record.series, [record]);
  }
  const placed = new Set<string>();
  const built: BuiltSeries[] = [];

  for (const existing of input.existing?.series ?? []) {
    if (input.readSeries && !input.readSeries.has(existing.uid)) {
      // Not copied: nothing downstream changes a series it did not build.
      built.push({ series: existing, issues: [] });
      continue;
    }
    const current = bySeries.get(existing.uid) ?? [];
    const currentBySop = new Map(current.map((record) => [record.sop, record]));
    const kept: ImagingStudySeriesInstance[] = [];
    for (const instance of existing.instance ?? []) {
      const record = currentBySop.get(instance.uid);
      if (record) {
        if (!placed.has(record.sop)) kept.push(updatedInstance(instance, record.instance));
        placed.add(record.sop);
      } else if (!records.has(instance.uid) && !removable(instance.uid)) {
        kept.push(instance);
      }
    }
    const { instance: _replaced, ...existingSeries } = existing;
    const series = buildSeries(structuredClone(existingSeries), kept, current, placed, offset);
    if (series) built.push(series);
  }

  const existingUids = new Set((input.existing?.series ?? []).map((series) => series.uid));
  const added: BuiltSeries[] = [];
  for (const [uid, current] of bySeries) {
    if (existingUids.has(uid)) continue;
    const series = buildSeries({ uid, modality: {} }, [], current, placed, offset);
    if (series) added.push(series);
  }
  added.sort((a, b) => compareNumberThenUid(a.series, b.series));
  built.push(...added);

  return { series: built.map((item) => item.series), issues: built.flatMap((item) => item.issues) };
}

function buildSeries(
  series: ImagingStudySeries,
  kept: ImagingStudySeriesInstance[],
  current: InstanceRecord[],
  placed: Set<string>,
  offset: string,
): BuiltSeries | undefined {
  const appended = current.filter((record) => !placed.has(record.sop));
  appended.sort((a, b) => compareNumberThenUid(a.instance, b.instance));
  for (const record of appended) placed.add(record.sop);
  const instances = [...kept, ...appended.map((record) => record.instance)];
  if (instances.length === 0) return undefined;

  const issues: TagIssue[] = [];
  const winner = latest(current);
  if (winner) {
    applySeriesAttributes(series, winner.seriesAttributes, offset);
    issues.push(...winner.issues.series);
  }
  const currentBySop = new Map(current.map((record) => [record.sop, record]));
  for (const instance of instances) issues.push(...(currentBySop.get(instance.uid)?.issues.instance ?? []));
  series.numberOfInstances = instances.length;
  series.instance = instances;
  return { series, issues };
}

/** The current element, keeping what else the existing one carried (id, extensions). */
function updatedInstance(
  existing: ImagingStudySeriesInstance,
  current: ImagingStudySeriesInstance,
): ImagingStudySeriesInstance {
  const { number: _number, title: _title, ...rest } = existing;
  return { ...rest, ...structuredClone(current) };
}

function applySeriesAttributes(series: ImagingStudySeries, attributes: SeriesAttributes, offset: string): void {
  series.modality = { ...attributes.modality };
  setOrDelete(series, 'number', attributes.number);
  setOrDelete(series, 'description', attributes.description);
  setOrDelete(series, 'started', toFhirDateTime(attributes.date, attributes.time, offset));
  setOrDelete(series, 'bodySite', attributes.bodySite);
  setOrDelete(series, 'laterality', attributes.laterality);
  setOrDelete(series, 'performer', nonEmpty(attributes.performer));
}

function applyStudyAttributes(study: ImagingStudy, winner: InstanceRecord, options: MappingOptions): void {
  const attributes = winner.study;
  const offset = attributes.offset ?? options.defaultTimezoneOffset;
  setOrDelete(study, 'started', toFhirDateTime(attributes.date, attributes.time, offset));
  setOrDelete(study, 'description', attributes.description);
  setOrDelete(study, 'referrer', attributes.referrer);
  setOrDelete(study, 'interpreter', nonEmpty(attributes.interpreter));
  setOrDelete(study, 'procedureCode', nonEmpty(attributes.procedureCode));
  setOrDelete(study, 'reasonCode', nonEmpty(attributes.reasonCode));
  study.identifier = replaceFirst(
    study.identifier ?? [],
    isAccession,
    attributes.accession === undefined ? undefined : accessionIdentifier(attributes.accession),
  );
}

/** The modalities of the series held, in order of first appearance. */
function studyModalities(series: ImagingStudySeries[]): Coding[] {
  const codes = new Set(series.map((item) => item.modality.code).filter((code) => code !== undefined));
  return [...codes].map((code) => ({ system: CodeSystem.dcm, code }));
}

function nonEmpty<T>(items: T[]): T[] | undefined {
  return items.length ? structuredClone(items) : undefined;
}

function setOrDelete<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete target[key];
  else target[key] = structuredClone(value);
}
