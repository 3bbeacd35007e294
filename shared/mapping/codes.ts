import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import { Tag, getSequenceItems, getString, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { isDicomUid } from '../dicomweb/identifiers.js';

export const CodeSystem = {
  dcm: 'http://dicom.nema.org/resources/ontology/DCM',
  snomed: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
} as const;

const systemByDesignator: Readonly<Record<string, string>> = {
  DCM: CodeSystem.dcm,
  SCT: CodeSystem.snomed,
  SRT: CodeSystem.snomed,
  LN: CodeSystem.loinc,
  UCUM: CodeSystem.ucum,
};

/**
 * CodingSchemeDesignator (+ CodingSchemeUID) → FHIR system; undefined when neither says which. A CodingSchemeUID
 * that is not a UID (a URL, say) gives no system rather than `urn:oid:http://…`.
 */
export function codingSystem(designator: string | undefined, schemeUid: string | undefined): string | undefined {
  const known = designator ? systemByDesignator[designator.toUpperCase()] : undefined;
  if (known) return known;
  return isDicomUid(schemeUid) ? `urn:oid:${schemeUid}` : undefined;
}

/** A code item (CodeValue, or LongCodeValue / URNCodeValue, + designator + meaning) → Coding. */
export function toCoding(item: DicomJsonDataset): Coding | undefined {
  const code =
    getString(item, Tag.CodeValue) ?? getString(item, Tag.LongCodeValue) ?? getString(item, Tag.URNCodeValue);
  const display = getString(item, Tag.CodeMeaning);
  if (code === undefined && display === undefined) return undefined;
  const coding: Coding = {};
  const system = codingSystem(getString(item, Tag.CodingSchemeDesignator), getString(item, Tag.CodingSchemeUID));
  if (system && code !== undefined) coding.system = system;
  if (code !== undefined) coding.code = code;
  if (display !== undefined) coding.display = display;
  return coding;
}

/** A code item → CodeableConcept; an item with a meaning but no code becomes `text`. */
export function toCodeableConcept(item: DicomJsonDataset): CodeableConcept | undefined {
  const coding = toCoding(item);
  if (!coding) return undefined;
  if (coding.code !== undefined) return { coding: [coding] };
  return coding.display === undefined ? undefined : { text: coding.display };
}

/** One CodeableConcept per item of a code sequence, skipping empty items. */
export function toCodeableConcepts(dataset: DicomJsonDataset, sequenceTag: string): CodeableConcept[] {
  return getSequenceItems(dataset, sequenceTag)
    .map(toCodeableConcept)
    .filter((concept): concept is CodeableConcept => concept !== undefined);
}
