import type {
  CodeableConcept,
  Coding,
  ImagingStudySeriesInstance,
  ImagingStudySeriesPerformer,
  ImagingStudy,
} from '@medplum/fhirtypes';
import { Tag, getPersonName, getPersonNames, getSequenceItems, getString } from '../dicomweb/dicomJson.js';
import { toBodySite } from './bodySite.js';
import { CodeSystem, toCodeableConcepts } from './codes.js';
import { toLaterality } from './laterality.js';
import { checkPatientTags } from './patient.js';
import { toDisplayName } from './personName.js';
import { TagReader, type IssueLocation } from './tags.js';
import type { MappingOptions, StudyInstance, TagIssue } from './types.js';

/**
 * What one instance says about its study, one property per element read (undefined: absent or invalid in this
 * instance, so the ImagingStudy element is removed). Date and time are kept apart until the offset is known.
 */
export interface StudyAttributes {
  date: string | undefined;
  time: string | undefined;
  /** `+HH:MM` when TimezoneOffsetFromUTC is present and valid. */
  offset: string | undefined;
  description: string | undefined;
  referrer: ImagingStudy['referrer'] | undefined;
  interpreter: NonNullable<ImagingStudy['interpreter']>;
  procedureCode: CodeableConcept[];
  reasonCode: CodeableConcept[];
  accession: string | undefined;
}

/** What one instance says about its series (undefined as in StudyAttributes). */
export interface SeriesAttributes {
  number: number | undefined;
  modality: Coding;
  description: string | undefined;
  date: string | undefined;
  time: string | undefined;
  bodySite: Coding | undefined;
  laterality: Coding | undefined;
  performer: ImagingStudySeriesPerformer[];
}

/** One instance read and checked; issues are kept per level so that only values in use are reported. */
export interface InstanceRecord {
  sop: string;
  series: string;
  sequence?: number;
  study: StudyAttributes;
  seriesAttributes: SeriesAttributes;
  instance: ImagingStudySeriesInstance;
  issues: { study: TagIssue[]; series: TagIssue[]; instance: TagIssue[] };
}

export interface RejectedInstance {
  /** SOPInstanceUID; '' when the instance does not have one. */
  sop: string;
  series?: string;
  issues: TagIssue[];
}

export type ReadInstanceResult = { record: InstanceRecord; rejected?: undefined } | { rejected: RejectedInstance };

/**
 * Reads one instance. Missing required tags (or an instance of another study) reject it; invalid optional
 * tags are warnings, or reject it too when `enforceValidation` is on. An unexpected exception while reading
 * (data of a shape nobody foresaw) rejects the instance too, located, instead of failing the whole study.
 */
export function readInstance(input: StudyInstance, studyUid: string, options: MappingOptions): ReadInstanceResult {
  try {
    return readCheckedInstance(input, studyUid, options);
  } catch (error) {
    const series = getString(input.dataset, Tag.SeriesInstanceUID);
    const sop = getString(input.dataset, Tag.SOPInstanceUID) ?? '';
    const reason = `could not be read: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    const issue: TagIssue = { severity: 'error', study: studyUid, tag: '(unknown)', keyword: 'unknown', reason };
    if (series !== undefined) issue.series = series;
    if (sop !== '') issue.instance = sop;
    return { rejected: { sop, ...(series !== undefined ? { series } : {}), issues: [issue] } };
  }
}

function readCheckedInstance(input: StudyInstance, studyUid: string, options: MappingOptions): ReadInstanceResult {
  const { dataset } = input;
  const location: IssueLocation = {
    study: studyUid,
    series: getString(dataset, Tag.SeriesInstanceUID),
    instance: getString(dataset, Tag.SOPInstanceUID),
  };
  const studyReader = new TagReader(dataset, location);
  const seriesReader = new TagReader(dataset, location);
  const instanceReader = new TagReader(dataset, location);

  const sop = instanceReader.requiredUid(Tag.SOPInstanceUID);
  const series = seriesReader.requiredUid(Tag.SeriesInstanceUID);
  const ownStudy = getString(dataset, Tag.StudyInstanceUID);
  if (ownStudy !== undefined && ownStudy !== studyUid) {
    instanceReader.issue('error', Tag.StudyInstanceUID, `belongs to another study than ${studyUid}`, ownStudy);
  }
  const seriesAttributes = readSeriesAttributes(seriesReader);
  const instance = readInstanceElement(instanceReader, sop);
  const study = readStudyAttributes(studyReader);
  // Enforced validation fails an instance for any invalid mapped tag, the Patient's too; otherwise the Patient
  // tags are reported once, from the instance whose data the Patient gets (toPatient).
  const patientReader = new TagReader(dataset, location);
  if (options.enforceValidation) checkPatientTags(patientReader);

  const all = [...studyReader.issues, ...seriesReader.issues, ...instanceReader.issues, ...patientReader.issues];
  const failed = all.some((issue) => issue.severity === 'error') || (options.enforceValidation && all.length > 0);
  if (failed || sop === undefined || series === undefined || !seriesAttributes || !instance) {
    const rejected: RejectedInstance = {
      sop: sop ?? location.instance ?? '',
      issues: all.map((issue) => ({ ...issue, severity: 'error' })),
    };
    if (location.series !== undefined) rejected.series = location.series;
    return { rejected };
  }
  const record: InstanceRecord = {
    sop,
    series,
    study,
    seriesAttributes,
    instance,
    issues: { study: studyReader.issues, series: seriesReader.issues, instance: instanceReader.issues },
  };
  if (input.sequence !== undefined) record.sequence = input.sequence;
  return { record };
}

function readStudyAttributes(reader: TagReader): StudyAttributes {
  const { dataset } = reader;
  const referrer = toDisplayName(getPersonName(dataset, Tag.ReferringPhysicianName));
  return {
    date: reader.date(Tag.StudyDate),
    time: reader.time(Tag.StudyTime),
    offset: reader.offset(Tag.TimezoneOffsetFromUTC),
    description: reader.string(Tag.StudyDescription),
    referrer: referrer === undefined ? undefined : { display: referrer },
    interpreter: displays(getPersonNames(dataset, Tag.NameOfPhysiciansReadingStudy)).map((display) => ({ display })),
    procedureCode: toCodeableConcepts(dataset, Tag.ProcedureCodeSequence),
    reasonCode: toCodeableConcepts(dataset, Tag.ReasonForPerformedProcedureCodeSequence),
    accession: reader.string(Tag.AccessionNumber),
  };
}

function readSeriesAttributes(reader: TagReader): SeriesAttributes | undefined {
  const { dataset } = reader;
  // A multi-valued Modality (a bad file) counts by its first value, also when sent as one `A\B` string.
  const modality = reader.required(Tag.Modality)?.split('\\')[0]?.trim();
  const bodyPart = reader.string(Tag.BodyPartExamined);
  // Every tag is read (and its issues recorded) even when the missing Modality rejects the series.
  const attributes: Omit<SeriesAttributes, 'modality'> = {
    number: reader.unsignedInt(Tag.SeriesNumber),
    description: reader.string(Tag.SeriesDescription),
    date: reader.date(Tag.SeriesDate),
    time: reader.time(Tag.SeriesTime),
    bodySite: bodyPart === undefined ? undefined : toBodySite(bodyPart),
    laterality: readLaterality(reader),
    performer: displays(getPersonNames(dataset, Tag.PerformingPhysicianName)).map((display) => ({
      actor: { display },
    })),
  };
  return modality ? { ...attributes, modality: { system: CodeSystem.dcm, code: modality } } : undefined;
}

function readLaterality(reader: TagReader): Coding | undefined {
  const tag = reader.string(Tag.Laterality) !== undefined ? Tag.Laterality : Tag.ImageLaterality;
  const value = reader.string(tag);
  if (value === undefined) return undefined;
  const coding = toLaterality(value);
  if (coding === undefined) reader.issue('warning', tag, 'not R, L, B or U', value);
  return coding ?? undefined;
}

function readInstanceElement(reader: TagReader, sop: string | undefined): ImagingStudySeriesInstance | undefined {
  const sopClass = reader.requiredUid(Tag.SOPClassUID);
  const number = reader.unsignedInt(Tag.InstanceNumber);
  if (sop === undefined || sopClass === undefined) return undefined;
  const instance: ImagingStudySeriesInstance = {
    uid: sop,
    sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${sopClass}` },
  };
  if (number !== undefined) instance.number = number;
  const title = instanceTitle(reader);
  if (title !== undefined) instance.title = title;
  return instance;
}

/** ConceptNameCodeSequence's CodeMeaning (an SR's document title), else DocumentTitle. */
function instanceTitle(reader: TagReader): string | undefined {
  const conceptName = getSequenceItems(reader.dataset, Tag.ConceptNameCodeSequence)[0];
  return (conceptName && getString(conceptName, Tag.CodeMeaning)) ?? reader.string(Tag.DocumentTitle);
}

function displays(names: ReturnType<typeof getPersonNames>): string[] {
  return names.map(toDisplayName).filter((display): display is string => display !== undefined);
}
