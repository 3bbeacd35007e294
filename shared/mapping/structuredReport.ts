import { Tag, getSequenceItems, getString, type DicomJsonDataset } from '../dicomweb/dicomJson.js';

/** The SR Document Content attributes (PS3.3 C.17.3) the dose mapping reads. */
export const SrTag = {
  RelationshipType: '0040A010',
  ValueType: '0040A040',
  ConceptNameCodeSequence: Tag.ConceptNameCodeSequence,
  ContentSequence: '0040A730',
  MeasuredValueSequence: '0040A300',
  NumericValue: '0040A30A',
  MeasurementUnitsCodeSequence: '004008EA',
  ConceptCodeSequence: '0040A168',
  UID: '0040A124',
  TextValue: '0040A160',
} as const;

/** A coded concept as SR carries it: scheme designator (upper case) and code value. */
export interface ConceptCode {
  designator: string;
  code: string;
}

/** `DCM:113701`: how concepts are compared (designators compare case-insensitively). */
export function conceptKey(concept: ConceptCode): string {
  return `${concept.designator}:${concept.code}`;
}

/** The code of the first item of a code sequence (e.g. a content item's concept name). */
export function codeOf(dataset: DicomJsonDataset, sequenceTag: string): ConceptCode | undefined {
  const item = getSequenceItems(dataset, sequenceTag)[0];
  if (!item) return undefined;
  const code =
    getString(item, Tag.CodeValue) ?? getString(item, Tag.LongCodeValue) ?? getString(item, Tag.URNCodeValue);
  if (code === undefined) return undefined;
  return { designator: (getString(item, Tag.CodingSchemeDesignator) ?? '').toUpperCase(), code };
}

/** One content item of an SR tree: its dataset, value type and concept name, and where it sits. */
export interface ContentItem {
  dataset: DicomJsonDataset;
  /** `CONTAINER`, `NUM`, `CODE`, `TEXT`, `UIDREF`, … (upper case); '' when absent. */
  valueType: string;
  /** `DCM:113830`; undefined when the item has no concept name. */
  concept?: string;
  /** e.g. `content[2].content[0]` */
  path: string;
}

export function contentItem(dataset: DicomJsonDataset, path: string): ContentItem {
  const concept = codeOf(dataset, SrTag.ConceptNameCodeSequence);
  const item: ContentItem = { dataset, valueType: (getString(dataset, SrTag.ValueType) ?? '').toUpperCase(), path };
  if (concept) item.concept = conceptKey(concept);
  return item;
}

/** The children of a content item (or of the document root), in document order. */
export function children(parent: ContentItem): ContentItem[] {
  return getSequenceItems(parent.dataset, SrTag.ContentSequence).map((child, index) =>
    contentItem(child, `${parent.path ? `${parent.path}.` : ''}content[${index}]`),
  );
}

/**
 * Every content item below `root`, depth first in document order. `descendInto` decides whether the walk
 * goes below an item (it always visits the item itself).
 */
export function descendants(
  root: ContentItem,
  descendInto: (item: ContentItem) => boolean = () => true,
): ContentItem[] {
  const out: ContentItem[] = [];
  const visit = (parent: ContentItem): void => {
    for (const child of children(parent)) {
      out.push(child);
      if (descendInto(child)) visit(child);
    }
  };
  visit(root);
  return out;
}
