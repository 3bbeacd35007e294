import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { Attr } from './names.js';

/**
 * What may leave the process as telemetry: UIDs, sequences, counts, categories, tag names, outcomes. Never a tag
 * value, a patient name or a PatientID. Log properties pass through `safeProperties`, free text through `scrubText`.
 *
 * Strings are kept only under the keys listed here; numbers and booleans are kept unless the key is denied.
 */
const stringKeys = new Set([
  'study',
  'series',
  'instance',
  'sop',
  'partition',
  'correlationId',
  'category',
  'tag',
  'keyword',
  'severity',
  'outcome',
  'imagingStudyId',
  'endpointId',
  'version',
  'reason',
  'action',
  'state',
  'timestamp',
  'invocationId',
  'traceId',
  'queue',
  'operation',
  'setting',
  'id',
  'since',
]);

/** Keys whose value may be patient data whatever its type. */
const deniedKeys = new Set([
  'value',
  'values',
  'patientId',
  'patientName',
  'name',
  'birthDate',
  'payload',
  'raw',
  'metadata',
  'dataset',
  'resource',
  'body',
]);

const maxTextChars = 2_000;

/**
 * Removes what could be patient data from free text (error reasons from servers, mapping warnings):
 * quoted values, DICOM person names (`Family^Given`) and URL query strings (a FHIR search names a PatientID).
 */
export function scrubText(text: string): string {
  return text
    .slice(0, maxTextChars)
    .replace(/(https?:\/\/[^\s?#"']*)\?[^\s"']*/g, '$1?…')
    .replace(/\?[A-Za-z_][\w:.-]*=[^\s"']*/g, '?…')
    .replace(/"(?:[^"\\\n]|\\.){0,500}"/g, '"…"')
    .replace(/`[^`\n]{0,500}`/g, '`…`')
    .replace(/(?<![\w])'[^'\n]{0,500}'(?![\w])/g, "'…'")
    .replace(/[^\s"'`,;()[\]{}]*\^[^\s"'`,;()[\]{}]*/g, '[PN]');
}

type Safe = string | number | boolean | SafeObject;
interface SafeObject {
  [key: string]: Safe;
}

function safeValue(key: string, value: unknown, depth: number): Safe | undefined {
  if (deniedKeys.has(key)) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return stringKeys.has(key) ? scrubText(value) : undefined;
  if (value && typeof value === 'object' && !Array.isArray(value) && depth < 2) {
    const nested = safeProperties(value as Record<string, unknown>, depth + 1);
    return Object.keys(nested).length > 0 ? nested : undefined;
  }
  return undefined;
}

/** The properties of a log line with everything that could be patient data left out. */
export function safeProperties(properties: Record<string, unknown>, depth = 0): SafeObject {
  const safe: SafeObject = {};
  for (const [key, value] of Object.entries(properties)) {
    const kept = safeValue(key, value, depth);
    if (kept !== undefined) safe[key] = kept;
  }
  return safe;
}

const uidKeys = new Set(['study', 'series', 'instance', 'sop', 'partition', 'correlationId', 'invocationId']);

const attributeNames: Record<string, string> = {
  study: Attr.study,
  series: Attr.series,
  instance: Attr.instance,
  sop: Attr.instance,
  partition: Attr.partition,
  correlationId: Attr.correlationId,
  sequence: Attr.sequence,
  maxSequence: Attr.sequence,
  dequeueCount: Attr.dequeueCount,
  category: Attr.category,
  outcome: Attr.outcome,
  invocationId: Attr.invocationId,
};

/** Safe properties as flat OpenTelemetry attributes (`checkpoint.sequence` → `dicomcast.checkpoint.sequence`). */
export function toAttributes(properties: SafeObject, prefix = ''): Attributes {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(properties)) {
    if (typeof value === 'object') {
      Object.assign(attributes, toAttributes(value, `${prefix}${key}.`));
      continue;
    }
    // The standard names hold UIDs and ids; a count under the same key (series: 2) keeps the app's prefix.
    const standard = typeof value === 'string' || !uidKeys.has(key) ? attributeNames[key] : undefined;
    const name = prefix === '' ? (standard ?? `dicomcast.${key}`) : `dicomcast.${prefix}${key}`;
    attributes[name] = value satisfies AttributeValue;
  }
  return attributes;
}
