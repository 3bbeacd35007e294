// multipart/related (RFC 2387) as DICOMweb uses it for STOW-RS requests and WADO-RS responses.
import { randomUUID } from 'node:crypto';

export interface MimePart {
  headers: Record<string, string>;
  body: Buffer;
}

/** The value of one parameter of a Content-Type header (quotes removed), or undefined. */
export function contentTypeParameter(contentType: string, name: string): string | undefined {
  for (const piece of contentType.split(';').slice(1)) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    if (piece.slice(0, eq).trim().toLowerCase() !== name.toLowerCase()) continue;
    const value = piece.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
  }
  return undefined;
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Splits a multipart body into its parts; throws on a body that does not follow the boundary syntax. */
export function parseMultipart(body: Buffer, boundary: string): MimePart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: MimePart[] = [];
  let position = body.indexOf(delimiter);
  if (position < 0) throw new Error('multipart boundary not found');
  position += delimiter.length;
  for (;;) {
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return parts; // closing "--"
    const lineEnd = body.indexOf('\r\n', position);
    if (lineEnd < 0) throw new Error('multipart part without a line break');
    const start = lineEnd + 2;
    const end = body.indexOf(nextDelimiter, start);
    if (end < 0) throw new Error('multipart body not closed');
    parts.push(splitPart(body.subarray(start, end)));
    position = end + nextDelimiter.length;
  }
}

function splitPart(part: Buffer): MimePart {
  const headers: Record<string, string> = {};
  if (part[0] === 0x0d && part[1] === 0x0a) return { headers, body: part.subarray(2) };
  const headerEnd = part.indexOf('\r\n\r\n');
  if (headerEnd < 0) throw new Error('multipart part without a header/body separator');
  for (const line of part.subarray(0, headerEnd).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: part.subarray(headerEnd + 4) };
}

/** Builds a multipart/related body; returns it with the matching Content-Type header value. */
export function encodeMultipart(
  parts: readonly { contentType: string; body: Uint8Array }[],
  type: string,
  boundary = randomUUID(),
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${part.contentType}\r\n\r\n`), Buffer.from(part.body));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}

/** A STOW-RS request body carrying Part-10 files. */
export function encodeStowBody(files: readonly Uint8Array[]): { body: Buffer; contentType: string } {
  return encodeMultipart(
    files.map((body) => ({ contentType: 'application/dicom', body })),
    'application/dicom',
  );
}
