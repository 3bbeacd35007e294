import type {
  Coding,
  Identifier,
  ImagingStudy,
  ImagingStudySeries,
  ImagingStudySeriesInstance,
} from '@medplum/fhirtypes';
import { CodeSystem } from './codes.js';
import { compact } from './compact.js';
import { toFhirDateTime } from './dates.js';
import { readInstance, type InstanceRecord, type RejectedInstance, type SeriesAttributes } from './instanceRecord.js';
import { replaceFirst } from './lists.js';
import { hasExactIdentifier, ownSource, studyIdentifierSystem } from './ownership.js';
import { tokenSearchValue } from './search.js';
import type { MappingOptions, StudyInstance, TagIssue } from './types.js';

const identifierTypeSystem = 'http://terminology.hl7.org/CodeSystem/v2-0203';

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
  /** The study's current instances per the DICOM server. */
  instances: StudyInstance[];
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
 * independent of the order of `instances`.
 */
export function toImagingStudy(input: ImagingStudyInput, options: MappingOptions): ImagingStudyResult {
  const { records, rejectedInstances } = readInstances(input, options);
  const studyWinner = latest([...records.values()]);
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
    ? structuredClone(input.existing)
    : { resourceType: 'ImagingStudy', status: 'available', subject: {} };
  // A study another server wrote stays theirs: claiming it would let us delete their instances later.
  study.meta = { ...study.meta, source: study.meta?.source ?? ownSource(options.endpoint, input.partition) };
  study.status = 'available';
  study.subject = { reference: input.patientReference };
  if (!study.endpoint?.some((endpoint) => endpoint.reference === input.endpointReference)) {
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
  study.series = series;

  result.imagingStudy = compact(study);
  return result;
}

/**
 * The instance whose study-level attributes (and Patient) win: the one stored last among the instances that
 * are not rejected (see toImagingStudy). Undefined when every instance is rejected.
 */
export function studyWinner(
  studyUid: string,
  instances: StudyInstance[],
  options: MappingOptions,
): StudyInstance | undefined {
  const { records, sources } = readInstances({ studyUid, instances }, options);
  const winner = latest([...records.values()]);
  return winner && sources.get(winner);
}

function readInstances(
  input: Pick<ImagingStudyInput, 'studyUid' | 'instances'>,
  options: MappingOptions,
): {
  records: Map<string, InstanceRecord>;
  rejectedInstances: RejectedInstance[];
  sources: Map<InstanceRecord, StudyInstance>;
} {
  const records = new Map<string, InstanceRecord>();
  const sources = new Map<InstanceRecord, StudyInstance>();
  const rejectedInstances: RejectedInstance[] = [];
  for (const instance of input.instances) {
    const read = readInstance(instance, input.studyUid, options);
    if (read.rejected) {
      rejectedInstances.push(read.rejected);
      continue;
    }
    sources.set(read.record, instance);
    const previous = records.get(read.record.sop);
    if (!previous || latest([read.record, previous]) === read.record) records.set(read.record.sop, read.record);
  }
  rejectedInstances.sort((a, b) => compareText(a.sop, b.sop));
  return { records, rejectedInstances, sources };
}

/**
 * The instance stored last: highest change-feed sequence, then highest SOP Instance UID; the same SOP
 * listed twice with the same sequence is settled by its content, so input order never matters.
 */
function latest(records: InstanceRecord[]): InstanceRecord | undefined {
  let best: InstanceRecord | undefined;
  for (const record of records) {
    if (!best || compareRecency(record, best) > 0) best = record;
  }
  return best;
}

function compareRecency(a: InstanceRecord, b: InstanceRecord): number {
  const sequenceA = a.sequence ?? -Infinity;
  const sequenceB = b.sequence ?? -Infinity;
  if (sequenceA !== sequenceB) return sequenceA > sequenceB ? 1 : -1;
  return compareText(a.sop, b.sop) || compareText(JSON.stringify(a), JSON.stringify(b));
}

/** Plain code-unit order (not locale order), so results are the same everywhere. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
    const series = buildSeries(structuredClone(existing), kept, current, placed, offset);
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

function accessionIdentifier(accession: string): Identifier {
  return { type: { coding: [{ system: identifierTypeSystem, code: 'ACSN' }] }, value: accession };
}

function isAccession(identifier: Identifier): boolean {
  return (
    identifier.type?.coding?.some((coding) => coding.system === identifierTypeSystem && coding.code === 'ACSN') ?? false
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
