import { z } from 'zod';
import { excerpt, partitionNameProblem, uidProblem } from '../dicomweb/identifiers.js';
import { NonRetryableError } from '../errors/errors.js';
import type { InstanceChange, StudyMessage, StudyMessageEnvelope } from './studyMessage.js';

/**
 * Storage queues take at most 64 KiB per message, measured on the base64 text the Functions host expects.
 * Stay a few KiB under, so a future field or the host's own handling never tips a message over.
 */
export const maxEncodedMessageChars = 60 * 1024;
/** JSON bytes whose base64 form fits in maxEncodedMessageChars. */
const maxJsonBytes = Math.floor(maxEncodedMessageChars / 4) * 3;

function toEnvelope(payload: StudyMessage): StudyMessageEnvelope {
  return { dicomCast: { version: 1, kind: 'study', payload } };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

function encode(payload: StudyMessage): string {
  return Buffer.from(JSON.stringify(toEnvelope(payload)), 'utf8').toString('base64');
}

/**
 * The order in which changes are kept when a study has more than one message can carry: newest first (the newest
 * current change decides the study-level attributes), with the newest `update` kept in any case, since the writer
 * needs to know that demographics changed.
 */
function byImportance(changes: readonly InstanceChange[]): InstanceChange[] {
  const newestFirst = [...changes].sort((a, b) => b.sequence - a.sequence);
  const firstUpdate = newestFirst.find((change) => change.action === 'update');
  const rest = newestFirst.filter((change) => change !== firstUpdate);
  return firstUpdate ? [firstUpdate, ...rest] : rest;
}

/**
 * The queue text for one study message: base64 of the JSON envelope, under the queue's size limit.
 * One message per study, always: the writer re-reads the whole study from the DICOM server anyway, so splitting a
 * large study into parts would only make it do that whole-study work once per part (quadratic in study size).
 * When the changes do not all fit, the newest are kept (see byImportance) and `omittedChanges` says how many were
 * left out; `maxSequence` still covers them all.
 */
export function encodeStudyMessage(message: StudyMessage): string {
  if (jsonBytes(toEnvelope(message)) <= maxJsonBytes) return encode(message);
  const trimmed = { ...message, changes: [], omittedChanges: Number.MAX_SAFE_INTEGER };
  const overhead = jsonBytes(toEnvelope(trimmed));
  if (overhead > maxJsonBytes) {
    // Only fields of absurd length get here (the poller checks UIDs and partition names first); the queue would
    // answer 413 on every run, so it is refused here, once, as bad data.
    throw new NonRetryableError(
      `A study message cannot be made to fit in a queue message (${overhead} bytes without any change)`,
      'bad-change-feed-entry',
      { study: excerpt(message.study, 64) },
    );
  }
  // The series of the left-out changes go along when all the study's series fit (an upper bound of them).
  const allSeries = [...new Set(message.changes.map((change) => change.series))];
  const withSeries = jsonBytes(toEnvelope({ ...trimmed, omittedSeries: allSeries }));
  const seriesFit = withSeries <= maxJsonBytes;
  const kept: InstanceChange[] = [];
  let size = seriesFit ? withSeries : overhead;
  for (const change of byImportance(message.changes)) {
    const cost = jsonBytes(change) + 1; // the comma
    if (size + cost > maxJsonBytes) break;
    kept.push(change);
    size += cost;
  }
  kept.sort((a, b) => a.sequence - b.sequence);
  const keptChanges = new Set(kept);
  const omitted = message.changes.filter((change) => !keptChanges.has(change));
  const omittedSeries = [...new Set(omitted.map((change) => change.series))];
  return encode({
    ...message,
    changes: kept,
    omittedChanges: message.changes.length - kept.length,
    ...(seriesFit ? { omittedSeries } : {}),
  });
}

/** Messages are checked as strictly as change-feed rows: a hand-made or replayed one names no `..` study either. */
const uid = z
  .string()
  .trim()
  .min(1, 'must be a non-empty UID')
  .refine((value) => uidProblem(value) === undefined, { error: (issue) => uidProblem(String(issue.input)) ?? '' });
const sequence = z.number().int().nonnegative();

const instanceChangeSchema = z.object({
  series: uid,
  sop: uid,
  action: z.enum(['create', 'update', 'delete']),
  sequence,
  state: z.enum(['current', 'replaced', 'deleted']),
});

const studyMessageSchema = z.object({
  study: uid,
  partition: z
    .string()
    .refine((value) => partitionNameProblem(value) === undefined, {
      error: (issue) => partitionNameProblem(String(issue.input)) ?? '',
    })
    .exactOptional(),
  changes: z.array(instanceChangeSchema),
  maxSequence: sequence,
  omittedChanges: z.number().int().positive().exactOptional(),
  omittedSeries: z.array(uid).exactOptional(),
  traceparent: z.string().exactOptional(),
});

const envelopeSchema = z.object({
  dicomCast: z.object({ version: z.literal(1), kind: z.literal('study'), payload: studyMessageSchema }),
});

const base64Text = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

function malformed(reason: string, study?: string): NonRetryableError {
  return new NonRetryableError(`Malformed study message: ${reason}`, 'bad-change-feed-entry', study ? { study } : {});
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8; bytes that are not valid UTF-8 are an error, never U+FFFD inside a UID. */
function utf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw malformed('the body is not valid UTF-8');
  }
}

/** Turns the body the Functions host hands over (parsed object, JSON text, base64 text or bytes) into a value. */
function bodyValue(body: unknown): unknown {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) text = utf8(body);
  else return body;

  text = text.trim();
  if (!text.startsWith('{') && base64Text.test(text)) text = utf8(Buffer.from(text, 'base64')).trim();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformed('the body is neither JSON nor base64-encoded JSON');
  }
}

/** Reads a queue message back into a StudyMessage; anything else is a NonRetryableError naming what is wrong. */
export function decodeStudyMessage(body: unknown): StudyMessage {
  const value = bodyValue(body);
  const result = envelopeSchema.safeParse(value);
  if (result.success) return result.data.dicomCast.payload;

  const issues = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  const more = result.error.issues.length > 3 ? `; and ${result.error.issues.length - 3} more` : '';
  const study = (value as { dicomCast?: { payload?: { study?: unknown } } } | null)?.dicomCast?.payload?.study;
  throw malformed(issues.join('; ') + more, typeof study === 'string' ? study.slice(0, 128) : undefined);
}
