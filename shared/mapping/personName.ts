import type { HumanName } from '@medplum/fhirtypes';
import type { DicomPersonName } from '../dicomweb/dicomJson.js';

interface NameParts {
  family?: string;
  given: string[];
  prefix: string[];
  suffix: string[];
}

function words(component: string | undefined): string[] {
  return (component ?? '').split(/\s+/).filter((word) => word !== '');
}

/** Alphabetic `Family^Given^Middle^Prefix^Suffix`; undefined when every component is empty. */
function alphabeticParts(alphabetic: string | undefined): NameParts | undefined {
  const [family, given, middle, prefix, suffix] = (alphabetic ?? '').split('^');
  const parts: NameParts = {
    given: [...words(given), ...words(middle)],
    prefix: words(prefix),
    suffix: words(suffix),
  };
  const familyText = words(family).join(' ');
  if (familyText) parts.family = familyText;
  const empty = !parts.family && !parts.given.length && !parts.prefix.length && !parts.suffix.length;
  return empty ? undefined : parts;
}

/** The Ideographic group as one line of text (components separated by spaces). */
function ideographicText(ideographic: string | undefined): string | undefined {
  const text = (ideographic ?? '')
    .split('^')
    .map((component) => words(component).join(' '))
    .filter((component) => component !== '')
    .join(' ');
  return text || undefined;
}

/**
 * A DICOM PN → FHIR HumanName with `use: usual`. Only when the Alphabetic group is empty does the
 * Ideographic group count, as `text`. Undefined when the name holds nothing.
 */
export function toHumanName(name: DicomPersonName | undefined): HumanName | undefined {
  const parts = alphabeticParts(name?.Alphabetic);
  if (parts) {
    const human: HumanName = { use: 'usual' };
    if (parts.family) human.family = parts.family;
    if (parts.given.length) human.given = parts.given;
    if (parts.prefix.length) human.prefix = parts.prefix;
    if (parts.suffix.length) human.suffix = parts.suffix;
    return human;
  }
  const text = ideographicText(name?.Ideographic);
  return text ? { use: 'usual', text } : undefined;
}

/** A DICOM PN as display text, "Given Family" (given includes middle names). */
export function toDisplayName(name: DicomPersonName | undefined): string | undefined {
  const parts = alphabeticParts(name?.Alphabetic);
  if (parts) {
    const display = [...parts.given, ...(parts.family ? [parts.family] : [])].join(' ');
    if (display) return display;
  }
  return ideographicText(name?.Ideographic);
}
