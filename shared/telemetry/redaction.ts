import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { errorMessage } from '../lib/errorDetails.js';
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
/** Text beyond this is dropped before redaction (a server may send megabytes of "diagnostics"). */
const maxInputChars = 100_000;

/** Secrets and the current and recent tokens of this process, newest first; a few dozen at most. */
const rememberedSecrets: string[] = [];
const maxRememberedSecrets = 32;
/** Shorter values would also match ordinary words; no real token or client secret is this short. */
const minSecretLength = 8;

/**
 * Keeps a secret (a token obtained, a client secret, a password) so that `redactSecrets` removes it from any text,
 * also where no pattern would recognise it (an opaque token echoed by a server in a diagnostics string).
 */
export function rememberSecret(value: string | undefined): void {
  if (value === undefined || value.length < minSecretLength) return;
  const known = rememberedSecrets.indexOf(value);
  if (known >= 0) rememberedSecrets.splice(known, 1);
  rememberedSecrets.unshift(value);
  if (rememberedSecrets.length > maxRememberedSecrets) rememberedSecrets.length = maxRememberedSecrets;
}

/** An HTTP credential after its scheme (`Bearer abc`, `Basic dXNlcjpwdw==`); a challenge's `realm="..."` is kept. */
const credentialPattern =
  /\b(Bearer|Basic|Digest|Negotiate|NTLM|DPoP|PoP|SharedAccessSignature)(\s+)(?![\w-]+=")[A-Za-z0-9\-._~+/]+=*/gi;
/** A JWT anywhere (three base64url parts, the first an encoded JSON object). */
const jwtPattern = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
/** `access_token=...`, `"client_secret": "..."`, `password: ...` and the like. */
const namedSecretPattern =
  /\b(access_token|refresh_token|id_token|client_secret|client_assertion|password|api[_-]?key|sig)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi;

/**
 * Removes credentials from text a server or library supplied (OperationOutcome diagnostics, WWW-Authenticate,
 * error bodies, token endpoint errors): the remembered secrets, HTTP credentials, JWTs and named secret fields.
 * Everything that can reach a log, a span, a failure record or CLI output passes through here.
 */
export function redactSecrets(text: string): string {
  let result = text.length > maxInputChars ? text.slice(0, maxInputChars) : text;
  for (const secret of rememberedSecrets) {
    if (result.includes(secret)) result = result.split(secret).join('***');
  }
  return result.replace(credentialPattern, '$1$2***').replace(jwtPattern, '***').replace(namedSecretPattern, '$1$2***');
}

/**
 * Removes credentials (see `redactSecrets`) and what could be patient data from free text (error reasons from
 * servers, mapping warnings): quoted values, DICOM person names (`Family^Given`) and URL query strings (a FHIR search names a PatientID).
 */
export function scrubText(text: string): string {
  return redactSecrets(text)
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

/** The message of anything thrown, scrubbed: what a span status may carry. */
export function scrubbedErrorMessage(error: unknown): string {
  return scrubText(errorMessage(error));
}
