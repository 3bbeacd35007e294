import type { IncomingMessage } from 'node:http';
import { generateId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { errorMessage } from '../../shared/lib/errorDetails.js';
import { badRequest, fhirError, type FhirError } from './outcomes.js';
import { parseFhirPath, type FhirPath } from './requestUrl.js';

const MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface ParsedRequest {
  method: string;
  path: FhirPath;
  body: Resource | undefined;
  bodyError: FhirError | undefined;
  rawBody: string;
  headers: IncomingMessage['headers'];
  /** A fresh id per HTTP request (HAPI puts it in meta.source and X-Request-ID). */
  id: string;
}

/** Reads and parses one request: its path under the base path, its body (a parse failure is kept, not thrown). */
export async function parseRequest(req: IncomingMessage, basePath: string, baseUrl: string): Promise<ParsedRequest> {
  const rawBody = await readBody(req);
  let body: Resource | undefined;
  let bodyError: FhirError | undefined;
  const isJson = !/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '');
  if (rawBody.trim() && isJson) {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Resource).resourceType !== 'string') {
        bodyError = badRequest('Request body is not a FHIR resource (no resourceType)');
      } else {
        body = parsed as Resource;
      }
    } catch (error) {
      bodyError = badRequest(`Request body is not valid JSON: ${errorMessage(error)}`);
    }
  }
  return {
    method: req.method ?? 'GET',
    path: parseFhirPath((req.url ?? '/').slice(basePath.length), baseUrl),
    body,
    bodyError,
    rawBody,
    headers: req.headers,
    id: generateId(),
  };
}

/** The FHIR interaction a request asks for, used for routing and for the request counts. */
export function classify({ method, path, body }: ParsedRequest): string {
  const { segments, rawQuery } = path;
  const [first, second, third] = segments;
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (segments.length === 0 && rawQuery) return 'search-type';
      if (first === 'metadata' && segments.length === 1) return 'capabilities';
      if (segments.length === 1) return 'search-type';
      if (segments.length === 2) return 'read';
      if (segments.length === 4 && third === '_history') return 'vread';
      break;
    case 'POST':
      if (segments.length === 0)
        return body?.resourceType === 'Bundle' && body.type === 'batch' ? 'batch' : 'transaction';
      if (segments.length === 1) return 'create';
      if (segments.length === 2 && second === '_search') return 'search-type';
      break;
    case 'PUT':
      if (segments.length === 2 || (segments.length === 1 && rawQuery)) return 'update';
      break;
    case 'DELETE':
      if (segments.length === 2) return 'delete';
      break;
  }
  return 'unknown';
}

/** Interactions that change nothing: they run together under the storage lock. */
export function isRead(interaction: string): boolean {
  return (
    interaction === 'read' || interaction === 'vread' || interaction === 'search-type' || interaction === 'capabilities'
  );
}

export function isBundle(interaction: string): boolean {
  return interaction === 'transaction' || interaction === 'batch';
}

export function requireBody(request: ParsedRequest, resourceType?: string): Resource {
  if (request.bodyError) {
    throw request.bodyError;
  }
  if (!request.body) {
    throw badRequest('Request body is required');
  }
  if (resourceType !== undefined && request.body.resourceType !== resourceType) {
    throw badRequest(`Body is a ${request.body.resourceType}, URL expects ${resourceType}`, [
      `${request.body.resourceType}.resourceType`,
    ]);
  }
  return request.body;
}

export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw fhirError(413, 'too-costly', `Request body over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
