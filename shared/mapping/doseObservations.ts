import type { Coding, Identifier, Observation, ObservationComponent } from '@medplum/fhirtypes';
import { Tag, getString, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { accessionIdentifier } from './accession.js';
import { CodeSystem } from './codes.js';
import { compact } from './compact.js';
import { tokenSearchValue } from './search.js';
import { ValueReader, type ComponentDefinition, type ValueKind } from './srValues.js';
import { SrTag, contentItem, codeOf, conceptKey, descendants, type ContentItem } from './structuredReport.js';
import { TagReader } from './tags.js';
import type { MappingOptions, TagIssue } from './types.js';

/**
 * Radiation dose Observations from dose SR documents (TID 10001 X-Ray / TID 10011 CT / TID 10021
 * Radiopharmaceutical Radiation Dose), per mapping.md part D. Pure: a DICOM JSON dataset in, resources out.
 */

export const dicomUidSystem = 'urn:dicom:uid';

export const doseSummaryCode: Coding = {
  system: CodeSystem.loinc,
  code: '73569-6',
  display: 'Radiation exposure and protection information',
};
export const irradiationEventCode: Coding = { system: CodeSystem.dcm, code: '113852', display: 'Irradiation Event' };

/** Document titles that make an SR a dose report: 113701 X-Ray, 113500 Radiopharmaceutical. */
const doseReportTitles = new Set(['DCM:113701', 'DCM:113500']);

/** Containers that are one irradiation event: X-Ray (TID 10003), CT (TID 10013), radiopharmaceutical (TID 10022). */
const eventContainers = new Set(['DCM:113706', 'DCM:113819', 'DCM:113502']);
/**
 * The event's UID: 113769 Irradiation Event UID; a Radiopharmaceutical Administration (TID 10022) names it
 * 113503 Radiopharmaceutical Administration Event UID, accepted there too.
 */
const eventUidConcepts = new Set(['DCM:113769']);
const administrationEventUid = 'DCM:113503';
const administrationContainer = 'DCM:113502';
const targetRegion = 'DCM:123014';

function dcm(code: string, display: string, kind: ValueKind): ComponentDefinition {
  return { coding: { system: CodeSystem.dcm, code, display }, kind, keys: [`DCM:${code}`] };
}

/** SNOMED CT concepts: designator SCT (or SRT, which some writers still use), plus the retired SNOMED RT code. */
function sct(code: string, display: string, kind: ValueKind, legacySrtCode: string): ComponentDefinition {
  return {
    coding: { system: CodeSystem.snomed, code, display },
    kind,
    keys: [`SCT:${code}`, `SRT:${code}`, `SRT:${legacySrtCode}`],
  };
}

/** The dose summary's components (mapping.md part D), in the order of this list when several are found. */
const summaryComponents: ComponentDefinition[] = [
  dcm('113725', 'Dose (RP) Total', 'quantity'),
  dcm('111637', 'Accumulated Average Glandular Dose', 'quantity'),
  dcm('113722', 'Dose Area Product Total', 'quantity'),
  dcm('113726', 'Fluoro Dose Area Product Total', 'quantity'),
  dcm('113727', 'Acquisition Dose Area Product Total', 'quantity'),
  dcm('113730', 'Total Fluoro Time', 'quantity'),
  dcm('113507', 'Administered activity', 'quantity'),
  dcm('113813', 'CT Dose Length Product Total', 'quantity'),
  dcm('113830', 'Mean CTDIvol', 'quantity'),
  dcm('123005', 'Radiopharmaceutical Volume', 'quantity'),
  dcm('113731', 'Total Number of Radiographic Frames', 'integer'),
  dcm('113812', 'Total Number of Irradiation Events', 'integer'),
  sct('349358000', 'Radiopharmaceutical agent', 'string', 'F-61FDB'),
  sct('89457008', 'Radionuclide', 'string', 'C-10072'),
  sct('410675002', 'Route of administration', 'codeableConcept', 'G-C340'),
];

/** An irradiation event's components. */
const eventComponents: ComponentDefinition[] = [
  dcm('113830', 'Mean CTDIvol', 'quantity'),
  dcm('113838', 'DLP', 'quantity'),
  dcm('113835', 'CTDIw Phantom Type', 'codeableConcept'),
];

function byKey(definitions: ComponentDefinition[]): Map<string, ComponentDefinition> {
  return new Map(definitions.flatMap((definition) => definition.keys.map((key) => [key, definition] as const)));
}
const summaryByKey = byKey(summaryComponents);
const eventByKey = byKey(eventComponents);

/** True when the SR's document title (ConceptNameCodeSequence) is a radiation dose report. */
export function isDoseReport(dataset: DicomJsonDataset): boolean {
  const title = codeOf(dataset, SrTag.ConceptNameCodeSequence);
  return title !== undefined && doseReportTitles.has(conceptKey(title));
}

export interface DoseObservationContext {
  studyUid: string;
  /** e.g. `Patient/123` or `urn:uuid:…` */
  patientReference: string;
  /** e.g. `ImagingStudy/456` or `urn:uuid:…` */
  imagingStudyReference: string;
  /** The study's accession number; the SR's own AccessionNumber when unset. */
  accession?: string;
}

export interface DoseObservationsResult {
  /** The dose summary first, then one Observation per irradiation event in document order; empty when none. */
  observations: Observation[];
  /** Values that could not be used: warnings, or errors (and no Observations) when validation is enforced. */
  issues: TagIssue[];
}

/**
 * The Observations a dose SR instance gives: a dose summary, identified by the SR's SOP Instance UID, and one
 * Observation per irradiation event that has an event UID, identified by it. Stable identifiers make a
 * replay produce the same resources. Not a dose report → no Observations.
 */
export function toDoseObservations(
  dataset: DicomJsonDataset,
  context: DoseObservationContext,
  options: Pick<MappingOptions, 'enforceValidation'>,
): DoseObservationsResult {
  if (!isDoseReport(dataset)) return { observations: [], issues: [] };
  const reader = new TagReader(dataset, {
    study: context.studyUid,
    series: getString(dataset, Tag.SeriesInstanceUID),
    instance: getString(dataset, Tag.SOPInstanceUID),
  });
  const sop = reader.requiredUid(Tag.SOPInstanceUID);
  const root = contentItem(dataset, '');
  const values = new ValueReader(reader);

  const observations: Observation[] = [];
  if (sop !== undefined) {
    const summary = compact<Observation>({
      resourceType: 'Observation',
      identifier: [
        uidIdentifier(sop),
        accessionOfReport(context.accession ?? getString(dataset, Tag.AccessionNumber)),
      ].filter((identifier): identifier is Identifier => identifier !== undefined),
      status: 'preliminary',
      code: { coding: [{ ...doseSummaryCode }] },
      subject: { reference: context.patientReference },
      partOf: [{ reference: context.imagingStudyReference }],
      component: components(descendants(root), summaryByKey, values),
    });
    if (summary) observations.push(summary);
    observations.push(...irradiationEvents(root, context, values));
  }

  const failed = reader.issues.some((issue) => issue.severity === 'error');
  if (failed || (options.enforceValidation && reader.issues.length > 0)) {
    return { observations: [], issues: reader.issues.map((issue) => ({ ...issue, severity: 'error' })) };
  }
  return { observations, issues: reader.issues };
}

function irradiationEvents(root: ContentItem, context: DoseObservationContext, values: ValueReader): Observation[] {
  const events: Observation[] = [];
  const seen = new Set<string>();
  for (const container of descendants(root).filter(isEventContainer)) {
    // Its own items: a nested event container is an event of its own.
    const items = descendants(container, (item) => !isEventContainer(item));
    const uidConcepts = new Set(eventUidConcepts);
    if (container.concept === administrationContainer) uidConcepts.add(administrationEventUid);
    const uidItem = items.find((item) => item.concept !== undefined && uidConcepts.has(item.concept));
    const uid = uidItem && values.uid(uidItem);
    if (uid === undefined || seen.has(uid)) continue;
    seen.add(uid);
    const site = items.find((item) => item.concept === targetRegion);
    const event = compact<Observation>({
      resourceType: 'Observation',
      identifier: [uidIdentifier(uid)],
      status: 'preliminary',
      code: { coding: [{ ...irradiationEventCode }] },
      subject: { reference: context.patientReference },
      partOf: [{ reference: context.imagingStudyReference }],
      bodySite: site && values.codeableConcept(site),
      component: components(items, eventByKey, values),
    });
    if (event) events.push(event);
  }
  return events;
}

function isEventContainer(item: ContentItem): boolean {
  return (
    item.concept !== undefined &&
    eventContainers.has(item.concept) &&
    (item.valueType === 'CONTAINER' || item.valueType === '')
  );
}

function components(
  items: ContentItem[],
  definitions: Map<string, ComponentDefinition>,
  values: ValueReader,
): ObservationComponent[] {
  const out: ObservationComponent[] = [];
  for (const item of items) {
    const definition = item.concept === undefined ? undefined : definitions.get(item.concept);
    if (!definition) continue;
    const component = values.component(item, definition);
    if (component) out.push(component);
  }
  return out;
}

export function uidIdentifier(uid: string): Identifier {
  return { system: dicomUidSystem, value: `urn:oid:${uid}` };
}

function accessionOfReport(accession: string | undefined): Identifier | undefined {
  return accession === undefined || accession.trim() === '' ? undefined : accessionIdentifier(accession.trim());
}

/** `Observation?identifier=urn:dicom:uid|urn:oid:<uid>`: the If-None-Exist of a new dose Observation. */
export function doseObservationSearchParams(observation: Observation): Record<string, string> {
  const identity = doseObservationIdentity(observation);
  return identity ? { identifier: tokenSearchValue(dicomUidSystem, identity) } : {};
}

/** `urn:oid:<uid>` of an Observation's first `urn:dicom:uid` identifier. */
export function doseObservationIdentity(observation: Observation): string | undefined {
  return observation.identifier?.find((identifier) => identifier.system === dicomUidSystem && identifier.value)?.value;
}

/** Which of our two kinds an Observation is, by its code; undefined when it is neither (not one of ours). */
export function doseObservationKind(observation: Observation): 'summary' | 'event' | undefined {
  const codings = observation.code.coding ?? [];
  const has = (wanted: Coding) => codings.some((c) => c.system === wanted.system && c.code === wanted.code);
  if (has(doseSummaryCode)) return 'summary';
  if (has(irradiationEventCode)) return 'event';
  return undefined;
}
