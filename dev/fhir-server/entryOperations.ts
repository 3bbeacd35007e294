import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { badRequest } from './outcomes.js';
import type { FhirServerProfile } from './profiles.js';
import { parseFhirPath, parseIfMatch } from './requestUrl.js';
import { omitUndefined } from '../../shared/lib/omitUndefined.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One entry of a transaction or batch Bundle, parsed and checked. */
export interface EntryOperation {
  index: number;
  method: Method;
  resourceType: string;
  id?: string;
  versionId?: string;
  /** Search criteria: a search (GET), a conditional update (PUT). */
  query?: URLSearchParams;
  rawQuery: string;
  resource?: Resource;
  fullUrl?: string;
  ifNoneExist?: string;
  ifMatch?: string;
}

/** Parses `Bundle.entry[index]`; a malformed entry is a 400 naming it. */
export function parseEntry(
  entry: BundleEntry,
  index: number,
  baseUrl: string,
  ifMatchSyntax: FhirServerProfile['ifMatchSyntax'],
): EntryOperation {
  const at = `Bundle.entry[${index}]`;
  const method = entry.request?.method;
  const url = entry.request?.url;
  if (!method || !url) {
    throw badRequest(`${at}.request needs a method and url`, [`${at}.request`]);
  }
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT' && method !== 'DELETE') {
    throw badRequest(`${at}: ${method} is not supported`, [`${at}.request.method`]);
  }
  const { segments, query, rawQuery } = parseFhirPath(url, baseUrl);
  const [resourceType, id, history, versionId] = segments;
  const shapeOk =
    resourceType !== undefined &&
    (method === 'POST'
      ? segments.length === 1
      : method === 'GET'
        ? segments.length <= 2 || (segments.length === 4 && history === '_history')
        : method === 'PUT'
          ? segments.length === 2 || (segments.length === 1 && rawQuery !== '')
          : segments.length === 2);
  if (!shapeOk) {
    throw badRequest(`${at}: unsupported request ${method} ${url}`, [`${at}.request.url`]);
  }
  if ((method === 'POST' || method === 'PUT') && entry.resource?.resourceType !== resourceType) {
    throw badRequest(`${at}: ${method} ${url} needs a ${resourceType} resource`, [`${at}.resource`]);
  }
  return {
    index,
    method,
    resourceType,
    rawQuery,
    ...omitUndefined({
      id,
      versionId,
      query: method === 'GET' ? query : undefined,
      resource: entry.resource,
      fullUrl: entry.fullUrl,
      ifNoneExist: entry.request?.ifNoneExist,
      ifMatch:
        entry.request?.ifMatch === undefined
          ? undefined
          : parseIfMatch(entry.request.ifMatch, ifMatchSyntax, `${at}.request.ifMatch`),
    }),
  };
}

/** Replaces `reference` values that name another entry's fullUrl (`urn:uuid:...`) with that entry's `Type/id`. */
export function resolveReferences<T>(value: T, references: ReadonlyMap<string, string>): T {
  if (Array.isArray(value)) {
    return value.map((item: unknown) => resolveReferences(item, references)) as T;
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string' && references.has(child)) {
      result[key] = references.get(child);
    } else if (key === 'reference' && typeof child === 'string' && child.startsWith('urn:uuid:')) {
      throw badRequest(`Reference ${child} does not match the fullUrl of any entry in the transaction`);
    } else {
      result[key] = resolveReferences(child, references);
    }
  }
  return result as T;
}

/**
 * The resources a transaction's writing entries resolve to. Where the profile rejects it (the AHDS FHIR service
 * processes entries in parallel), two entries on one resource are a 400.
 */
export class EntryTargets {
  private readonly seen = new Map<string, number>();

  constructor(private readonly reject: boolean) {}

  add(op: EntryOperation, id: string): void {
    const key = `${op.resourceType}/${id}`;
    const first = this.seen.get(key);
    if (this.reject && first !== undefined) {
      throw badRequest(
        `Bundle contains multiple entries that refers to the same resource '${key}' ` +
          `(Bundle.entry[${first}] and Bundle.entry[${op.index}])`,
      );
    }
    this.seen.set(key, op.index);
  }
}
