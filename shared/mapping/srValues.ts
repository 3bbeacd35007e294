import type { CodeableConcept, Coding, ObservationComponent, Quantity } from '@medplum/fhirtypes';
import { Tag, getSequenceItems, getString, getValues } from '../dicomweb/dicomJson.js';
import { CodeSystem, toCodeableConcept, toCoding } from './codes.js';
import { SrTag, type ContentItem } from './structuredReport.js';
import type { TagReader } from './tags.js';

/** The values of SR content items (numbers, texts, codes, UIDs) as the dose Observations use them. */

export type ValueKind = 'quantity' | 'integer' | 'string' | 'codeableConcept';

export interface ComponentDefinition {
  /** The component's code as written (canonical system, code and meaning, whatever the SR used). */
  coding: Coding;
  kind: ValueKind;
  /** The concept keys that mean it in an SR (`DCM:113830`, legacy `SRT:F-61FDB`, …). */
  keys: string[];
}

const decimalPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const uidPattern = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;
const maxInteger = 2147483647;

/** Reads content item values, recording what it cannot use against the tag that holds it. */
export class ValueReader {
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
