import { generateId } from '@medplum/core';
import { badRequest, gone } from './outcomes.js';
import type { PagingStyle } from './profiles.js';

/** A search request after the paging parameters have been taken out of it. */
export interface PageRequest {
  resourceType: string;
  /** The search parameters, without this style's paging parameters. */
  query: URLSearchParams;
  offset: number;
}

/**
 * One server's way of paging search results: what the `next` link looks like and how a request for a later page
 * is read back. The links are what a client must follow; only `offset` links can be built by the client itself.
 */
export interface Pager {
  readonly defaultCount: number;
  /** A search on a type (`GET [base]/Type?...`). */
  read(resourceType: string, query: URLSearchParams): PageRequest;
  /** A request on the base itself (`GET [base]?_getpages=...`), or undefined if this style has none. */
  readBase(query: URLSearchParams): PageRequest | undefined;
  nextLink(request: PageRequest, nextOffset: number, count: number): string;
}

export function createPager(style: PagingStyle, baseUrl: string): Pager {
  switch (style.kind) {
    case 'offset':
      return new OffsetPager(style.defaultCount, baseUrl);
    case 'continuation':
      return new ContinuationPager(style.defaultCount, baseUrl);
    case 'getpages':
      return new GetPagesPager(style.defaultCount, baseUrl);
  }
}

function typeUrl(baseUrl: string, resourceType: string, query: URLSearchParams): string {
  const search = query.toString();
  return `${baseUrl}/${resourceType}${search ? `?${search}` : ''}`;
}

/** `_offset=n` in the next link (Medplum). */
class OffsetPager implements Pager {
  constructor(
    readonly defaultCount: number,
    private readonly baseUrl: string,
  ) {}

  read(resourceType: string, query: URLSearchParams): PageRequest {
    const rest = new URLSearchParams(query);
    const offset = Number(rest.get('_offset') ?? 0);
    rest.delete('_offset');
    if (!Number.isInteger(offset) || offset < 0) throw badRequest('_offset must be a non-negative integer');
    return { resourceType, query: rest, offset };
  }

  readBase(): undefined {
    return undefined;
  }

  nextLink(request: PageRequest, nextOffset: number, count: number): string {
    const next = new URLSearchParams(request.query);
    next.set('_count', String(count));
    next.set('_offset', String(nextOffset));
    return typeUrl(this.baseUrl, request.resourceType, next);
  }
}

/**
 * An opaque `ct` continuation token (the AHDS FHIR service). `_offset` is not a parameter there and is ignored, as
 * AHDS ignores unknown parameters, so a client that builds its own `_offset` links gets the first page again.
 */
class ContinuationPager implements Pager {
  constructor(
    readonly defaultCount: number,
    private readonly baseUrl: string,
  ) {}

  read(resourceType: string, query: URLSearchParams): PageRequest {
    const rest = new URLSearchParams(query);
    const token = rest.get('ct');
    rest.delete('ct');
    rest.delete('_offset');
    return { resourceType, query: rest, offset: token === null ? 0 : decodeToken(token) };
  }

  readBase(): undefined {
    return undefined;
  }

  nextLink(request: PageRequest, nextOffset: number, count: number): string {
    const next = new URLSearchParams(request.query);
    next.set('_count', String(count));
    next.set(
      'ct',
      Buffer.from(JSON.stringify({ token: `+RID:~${nextOffset}`, range: generateId() })).toString('base64'),
    );
    return typeUrl(this.baseUrl, request.resourceType, next);
  }
}

function decodeToken(token: string): number {
  try {
    const { token: inner } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { token?: unknown };
    const offset = typeof inner === 'string' ? Number(/^\+RID:~(\d+)$/.exec(inner)?.[1]) : NaN;
    if (Number.isInteger(offset)) return offset;
  } catch {
    // fall through
  }
  throw badRequest(`Invalid continuation token ct=${token}`);
}

const MAX_STORED_SEARCHES = 10_000;

/**
 * `[base]?_getpages=<search id>&_getpagesoffset=n` links (the HAPI JPA server): the search is stored on the server
 * and later pages name it, not the search parameters. An unknown search id is 410 Gone, as on HAPI after expiry.
 */
class GetPagesPager implements Pager {
  private readonly searches = new Map<string, { resourceType: string; query: URLSearchParams }>();

  constructor(
    readonly defaultCount: number,
    private readonly baseUrl: string,
  ) {}

  read(resourceType: string, query: URLSearchParams): PageRequest {
    const rest = new URLSearchParams(query);
    const offset = Number(rest.get('_offset') ?? 0);
    rest.delete('_offset');
    if (!Number.isInteger(offset) || offset < 0) throw badRequest('_offset must be a non-negative integer');
    return { resourceType, query: rest, offset };
  }

  readBase(query: URLSearchParams): PageRequest | undefined {
    const id = query.get('_getpages');
    if (id === null) return undefined;
    const search = this.searches.get(id);
    if (!search) throw gone(`Search ${id} is unknown or has expired`);
    const offset = Number(query.get('_getpagesoffset') ?? 0);
    if (!Number.isInteger(offset) || offset < 0) throw badRequest('_getpagesoffset must be a non-negative integer');
    const next = new URLSearchParams(search.query);
    const count = query.get('_count');
    if (count !== null) next.set('_count', count);
    return { resourceType: search.resourceType, query: next, offset };
  }

  nextLink(request: PageRequest, nextOffset: number, count: number): string {
    const id = generateId();
    this.searches.set(id, { resourceType: request.resourceType, query: request.query });
    if (this.searches.size > MAX_STORED_SEARCHES) {
      const oldest = this.searches.keys().next().value;
      if (oldest !== undefined) this.searches.delete(oldest);
    }
    const query = new URLSearchParams({
      _getpages: id,
      _getpagesoffset: String(nextOffset),
      _count: String(count),
      _bundletype: 'searchset',
    });
    return `${this.baseUrl}?${query.toString()}`;
  }
}
