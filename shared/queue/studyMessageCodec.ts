import { z } from 'zod';
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

function withChanges(message: StudyMessage, changes: InstanceChange[], part?: StudyMessage['part']): StudyMessage {
  return {
    study: message.study,
    ...(message.partition !== undefined ? { partition: message.partition } : {}),
    changes,
    maxSequence: changes.reduce((max, change) => Math.max(max, change.sequence), 0),
    ...(part ? { part } : {}),
    ...(message.traceparent !== undefined ? { traceparent: message.traceparent } : {}),
  };
}

/**
 * The queue texts for one study message: base64 of the JSON envelope, each under the queue's size limit.
 * A study with too many changes for one message is split into parts (`part.index` 0-based, `part.count`),
 * each part listing some of the changes and its own maxSequence.
 */
export function encodeStudyMessages(message: StudyMessage): string[] {
  if (jsonBytes(toEnvelope(message)) <= maxJsonBytes) return [encode(message)];

  // The fixed cost of a part: the envelope with no changes and the widest `part` it could carry.
  const widest = { index: Number.MAX_SAFE_INTEGER, count: Number.MAX_SAFE_INTEGER };
  const overhead = jsonBytes(toEnvelope({ ...withChanges(message, [], widest), maxSequence: Number.MAX_SAFE_INTEGER }));
  const chunks: InstanceChange[][] = [];
  let chunk: InstanceChange[] = [];
  let size = overhead;
  for (const change of message.changes) {
    const cost = jsonBytes(change) + 1; // the comma
    if (overhead + cost > maxJsonBytes) {
      throw new NonRetryableError('A single instance change does not fit in a queue message', 'bad-change-feed-entry', {
        study: message.study,
        series: change.series,
        instance: change.sop,
      });
    }
    if (size + cost > maxJsonBytes && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      size = overhead;
    }
    chunk.push(change);
    size += cost;
  }
  if (chunk.length > 0) chunks.push(chunk);

  return chunks.map((changes, index) => encode(withChanges(message, changes, { index, count: chunks.length })));
}

const uid = z.string().trim().min(1, 'must be a non-empty UID');
const sequence = z.number().int().nonnegative();

const instanceChangeSchema = z.object({
  series: uid,
  sop: uid,
  action: z.enum(['create', 'update', 'delete']),
  sequence,
  state: z.enum(['current', 'replaced', 'deleted']),
});

const studyMessageSchema = z
  .object({
    study: uid,
    partition: z.string().min(1).optional(),
    changes: z.array(instanceChangeSchema),
    maxSequence: sequence,
    part: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).optional(),
    traceparent: z.string().optional(),
  })
  .refine((message) => !message.part || message.part.index < message.part.count, {
    message: 'part.index must be below part.count',
    path: ['part'],
  });

const envelopeSchema = z.object({
  dicomCast: z.object({ version: z.literal(1), kind: z.literal('study'), payload: studyMessageSchema }),
});

const base64Text = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

function malformed(reason: string, study?: string): NonRetryableError {
  return new NonRetryableError(`Malformed study message: ${reason}`, 'bad-change-feed-entry', study ? { study } : {});
}

/** Turns the body the Functions host hands over (parsed object, JSON text, base64 text or bytes) into a value. */
function bodyValue(body: unknown): unknown {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) text = Buffer.from(body).toString('utf8');
  else return body;

  text = text.trim();
  if (!text.startsWith('{') && base64Text.test(text)) text = Buffer.from(text, 'base64').toString('utf8').trim();
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
  throw malformed(issues.join('; ') + more, typeof study === 'string' ? study : undefined);
}
