import { NonRetryableError, type ErrorLocation } from '../errors/errors.js';

/**
 * Strict UTF-8 for DICOM JSON responses. Node and axios decode leniently: a byte that is not UTF-8 silently becomes
 * U+FFFD, so a PatientName or an identifier would be written changed. Here such a body is bad data, located.
 */

/** Names the response in errors: the request (method and path, never the query) and where it belongs. */
export interface ResponseSource {
  request: string;
  location: ErrorLocation;
  /** What was asked beyond the path (a change-feed window), for the message. */
  detail?: string;
}

function notUtf8(source: ResponseSource): NonRetryableError {
  const detail = source.detail ? ` (${source.detail})` : '';
  return new NonRetryableError(
    `${source.request}${detail} returned bytes that are not valid UTF-8; the body was not used`,
    'bad-dicom-data',
    source.location,
  );
}

/**
 * Decodes a body that arrives in chunks: a character split across chunks is held until its last byte arrives.
 * `push` gives the text decoded so far, `end` what remains; both throw a located 'bad-dicom-data' error on bytes
 * that are not UTF-8 (including a character cut short at the end).
 */
export class StrictUtf8StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly source: ResponseSource) {}

  push(chunk: Uint8Array): string {
    try {
      return this.decoder.decode(chunk, { stream: true });
    } catch {
      throw notUtf8(this.source);
    }
  }

  end(): string {
    try {
      return this.decoder.decode();
    } catch {
      throw notUtf8(this.source);
    }
  }
}
