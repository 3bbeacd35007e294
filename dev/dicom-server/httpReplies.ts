import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';

/** Reading requests and writing replies for the stand-in's routes; an HttpError becomes a text reply. */

export const DICOM_JSON = 'application/dicom+json';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function allow(method: string, ...methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, `Method ${method} is not allowed here.`);
}

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sendQido(response: ServerResponse, results: DicomJsonDataset[]): void {
  if (results.length === 0) response.writeHead(204).end();
  else sendJson(response, 200, results, DICOM_JSON);
}

export function sendJson(response: ServerResponse, status: number, body: unknown, contentType: string): void {
  sendJsonText(response, status, JSON.stringify(body), contentType);
}

/** A body already serialized as JSON. */
export function sendJsonText(response: ServerResponse, status: number, text: string, contentType: string): void {
  response.writeHead(status, {
    'content-type': `${contentType}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(message),
  });
  response.end(message);
}
