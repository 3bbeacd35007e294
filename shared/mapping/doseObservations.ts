import type {
  CodeableConcept,
  Coding,
  Identifier,
  Observation,
  ObservationComponent,
  Quantity,
} from '@medplum/fhirtypes';
import { Tag, getSequenceItems, getString, getValues, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { CodeSystem, toCodeableConcept, toCoding } from './codes.js';
import { compact } from './compact.js';
import { tokenSearchValue } from './search.js';
import { SrTag, contentItem, codeOf, conceptKey, descendants, type ContentItem } from './structuredReport.js';
import { TagReader } from './tags.js';
import type { MappingOptions, TagIssue } from './types.js';

/**
 * Radiation dose Observations from dose SR documents (TID 10001 X-Ray / TID 10011 CT / TID 10021
 * Radiopharmaceutical Radiation Dose), per mapping.md part D. Pure: a DICOM JSON dataset in, resources out.
 */

export const dicomUidSystem = 'urn:dicom:uid';
const identifierTypeSystem = 'http://terminology.hl7.org/CodeSystem/v2-0203';

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

type ValueKind = 'quantity' | 'integer' | 'string' | 'codeableConcept';

interface ComponentDefinition {
  /** The component's code as written (canonical system, code and meaning, whatever the SR used). */
  coding: Coding;
  kind: ValueKind;
  /** The concept keys that mean it in an SR (`DCM:113830`, legacy `SRT:F-61FDB`, …). */
  keys: string[];
}

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
        accessionIdentifier(context.accession ?? getString(dataset, Tag.AccessionNumber)),
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

function accessionIdentifier(accession: string | undefined): Identifier | undefined {
  if (accession === undefined || accession.trim() === '') return undefined;
  return { type: { coding: [{ system: identifierTypeSystem, code: 'ACSN' }] }, value: accession.trim() };
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

const decimalPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const uidPattern = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;
const maxInteger = 2147483647;

/** Reads content item values, recording what it cannot use against the tag that holds it. */
class ValueReader {
  constructor(private readonly reader: TagReader) {}

  component(item: ContentItem, definition: ComponentDefinition): ObservationComponent | undefined {
    const code: CodeableConcept = { coding: [{ ...definition.coding }] };
    const label = `${definition.coding.code ?? ''} ${definition.coding.display ?? ''} at ${item.path}`;
    switch (definition.kind) {
      case 'quantity': {
        const valueQuantity = this.quantity(item, label);
        return valueQuantity && { code, valueQuantity };
      }
      case 'integer': {
        const number = this.number(item, label);
        if (number === undefined) return undefined;
        if (!Number.isInteger(number) || Math.abs(number) > maxInteger) {
          this.warn(SrTag.NumericValue, `not an integer (${label})`, number);
          return undefined;
        }
        return { code, valueInteger: number };
      }
      case 'string': {
        const valueString = this.text(item);
        return valueString === undefined ? undefined : { code, valueString };
      }
      case 'codeableConcept': {
        const valueCodeableConcept = this.codeableConcept(item);
        return valueCodeableConcept && { code, valueCodeableConcept };
      }
    }
  }

  /** NUM: MeasuredValueSequence's NumericValue with its units (UCUM when the units are UCUM-coded). */
  quantity(item: ContentItem, label: string): Quantity | undefined {
    const value = this.number(item, label);
    if (value === undefined) return undefined;
    const quantity: Quantity = { value };
    const measured = getSequenceItems(item.dataset, SrTag.MeasuredValueSequence)[0];
    const units = measured && getSequenceItems(measured, SrTag.MeasurementUnitsCodeSequence)[0];
    const unit = units && toCoding(units);
    if (unit) {
      const text = unit.display ?? unit.code;
      if (text !== undefined) quantity.unit = text;
      if (unit.system === CodeSystem.ucum && unit.code !== undefined) {
        quantity.system = CodeSystem.ucum;
        quantity.code = unit.code;
      }
    }
    return quantity;
  }

  number(item: ContentItem, label: string): number | undefined {
    const measured = getSequenceItems(item.dataset, SrTag.MeasuredValueSequence)[0];
    if (!measured) return undefined;
    const raw = getValues(measured, SrTag.NumericValue)[0];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return undefined;
    const parsed =
      typeof raw === 'number' ? raw : typeof raw === 'string' && decimalPattern.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isFinite(parsed)) {
      this.warn(SrTag.NumericValue, `not a number (${label})`, typeof raw === 'object' ? JSON.stringify(raw) : raw);
      return undefined;
    }
    return parsed;
  }

  /** CODE: the concept's meaning (else its code); TEXT: the text. */
  text(item: ContentItem): string | undefined {
    if (item.valueType === 'TEXT') return getString(item.dataset, SrTag.TextValue);
    const concept = getSequenceItems(item.dataset, SrTag.ConceptCodeSequence)[0];
    if (!concept) return getString(item.dataset, SrTag.TextValue);
    return getString(concept, Tag.CodeMeaning) ?? getString(concept, Tag.CodeValue);
  }

  codeableConcept(item: ContentItem): CodeableConcept | undefined {
    const concept = getSequenceItems(item.dataset, SrTag.ConceptCodeSequence)[0];
    return concept && toCodeableConcept(concept);
  }

  /** UIDREF: the UID, usable inside `urn:oid:`; anything else is a warning. */
  uid(item: ContentItem): string | undefined {
    const raw = getString(item.dataset, SrTag.UID);
    if (raw === undefined) return undefined;
    const value = raw.replace(/\0+$/, '');
    if (value.length > 64 || !uidPattern.test(value)) {
      this.warn(SrTag.UID, `not a valid UID (${item.concept ?? ''} at ${item.path})`, raw);
      return undefined;
    }
    return value;
  }

  /** An item read for the summary and again for its event is reported once. */
  private readonly reported = new Set<string>();

  private warn(tag: string, reason: string, value: string | number): void {
    const key = `${tag} ${reason} ${value}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.reader.issue('warning', tag, reason, value);
  }
}
