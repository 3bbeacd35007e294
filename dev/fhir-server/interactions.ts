import {
  generateId,
  getSearchParameter,
  isResourceType,
  OperationOutcomeError,
  parseSearchRequest,
  type SearchRequest,
} from '@medplum/core';
import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';
import { badRequest, fhirError, FhirError, gone, notFound, preconditionFailed } from './outcomes.js';
import { sameContent } from './sameContent.js';
import { createPager, type PageRequest, type Pager } from './paging.js';
import type { FhirServerProfile } from './profiles.js';
import type { ResourceStore } from './store.js';
import type { ResourceValidator } from './validation.js';

export interface WriteResult {
  /** 201 when a resource was created, 200 when updated or when a conditional create matched an existing one. */
  status: 200 | 201;
  resource: Resource;
}

const MAX_PAGE_SIZE = 1000;

/**
 * The FHIR RESTful interactions (read, search, create, update, delete, conditional variants) on the store.
 * Callers serialize writes: every write runs alone under the server's storage lock; reads run together.
 */
export class FhirInteractions {
  private readonly pager: Pager;
  private requestId = generateId();

  constructor(
    private readonly store: ResourceStore,
    private readonly validator: ResourceValidator,
    private readonly baseUrl: string,
    readonly profile: FhirServerProfile,
  ) {
    this.pager = createPager(profile.paging, baseUrl);
  }

  /** The HTTP request the next writes belong to (for a `meta.source` with the request id). */
  beginRequest(requestId: string): void {
    this.requestId = requestId;
  }

  async read(resourceType: string, id: string): Promise<Resource> {
    assertResourceType(resourceType);
    const resource = await this.store.read(resourceType, id);
    if (resource) {
      return resource;
    }
    if (this.store.wasDeleted(resourceType, id)) {
      throw gone(`${resourceType}/${id} has been deleted`);
    }
    throw notFound(`${resourceType}/${id} not found`);
  }

  /** Only the current version is kept, so older versions are 404. */
  async vread(resourceType: string, id: string, versionId: string): Promise<Resource> {
    const resource = await this.read(resourceType, id);
    if (resource.meta?.versionId !== versionId) {
      throw notFound(`${resourceType}/${id}/_history/${versionId} not found (only the current version is kept)`);
    }
    return resource;
  }

  async search(resourceType: string, query: URLSearchParams, lenient = false): Promise<Bundle> {
    assertResourceType(resourceType);
    return this.searchPage(this.pager.read(resourceType, query), lenient);
  }

  /** A search on the base URL: a later page of a stored search (`_getpages`), where the profile pages that way. */
  async searchBase(query: URLSearchParams, lenient = false): Promise<Bundle> {
    const page = this.pager.readBase(query);
    if (!page) {
      throw fhirError(405, 'not-supported', 'A search needs a resource type: GET [base]/Type?...');
    }
    return this.searchPage(page, lenient);
  }

  private async searchPage(page: PageRequest, lenient: boolean): Promise<Bundle> {
    const { resourceType, query } = page;
    const request = { ...this.parseSearch(resourceType, query, lenient), offset: page.offset };
    const { total, entries } = await this.store.search(request);
    const count = request.count ?? this.pager.defaultCount;
    const link: BundleLink[] = [{ relation: 'self', url: this.searchUrl(resourceType, query) }];
    if (count > 0 && page.offset + count < total) {
      link.push({ relation: 'next', url: this.pager.nextLink(page, page.offset + count, count) });
    }
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      link,
      ...(entries.length
        ? {
            entry: entries.map(({ resource, mode }) => ({
              fullUrl: `${this.baseUrl}/${resource.resourceType}/${resource.id}`,
              resource,
              search: { mode },
            })),
          }
        : {}),
    };
  }

  /** Up to `limit` current resources matching a conditional URL's query (`If-None-Exist`, conditional update). */
  async match(resourceType: string, condition: string, limit = 2): Promise<Resource[]> {
    // Accept `identifier=x`, `?identifier=x` and `Patient?identifier=x`.
    const query = new URLSearchParams(condition.slice(condition.indexOf('?') + 1));
    if ([...query.keys()].length === 0) {
      throw badRequest(`Empty search criteria for conditional ${resourceType} interaction`);
    }
    const request = this.parseSearch(resourceType, query, false);
    const { entries } = await this.store.search({ ...request, offset: 0, count: limit });
    return entries.map((e) => e.resource);
  }

  /** Create, or with `ifNoneExist` return the one existing match (412 if several); `id` is for transactions. */
  async create(
    resource: Resource,
    options: { ifNoneExist?: string | undefined; id?: string } = {},
  ): Promise<WriteResult> {
    assertResourceType(resource.resourceType);
    if (options.ifNoneExist) {
      const matches = await this.match(resource.resourceType, options.ifNoneExist);
      if (matches.length > 1) {
        throw preconditionFailed(
          `If-None-Exist ${resource.resourceType}?${options.ifNoneExist} matched ${matches.length} resources`,
        );
      }
      if (matches[0]) {
        return { status: 200, resource: matches[0] };
      }
    }
    const toCreate = this.stamped({ ...resource, id: options.id ?? generateId() });
    this.validator.validate(toCreate);
    return { status: 201, resource: await this.store.write(toCreate) };
  }

  /** Update (or create with the client's id); `ifMatch` is the version the client last saw. */
  async update(resourceType: string, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
    assertResourceType(resourceType);
    if (resource.resourceType !== resourceType) {
      throw badRequest(`Resource type ${resource.resourceType} does not match URL type ${resourceType}`, [
        `${resource.resourceType}.resourceType`,
      ]);
    }
    if (resource.id !== undefined && resource.id !== id) {
      throw badRequest(`Resource id ${resource.id} does not match URL id ${id}`, [`${resourceType}.id`]);
    }
    const current = await this.store.read(resourceType, id);
    if (ifMatch !== undefined) this.checkIfMatch(resourceType, id, current, ifMatch);
    const toWrite = this.stamped({ ...resource, id });
    this.validator.validate(toWrite);
    if (current && !this.profile.identicalUpdateMakesVersion && sameContent(current, toWrite)) {
      return { status: 200, resource: current };
    }
    return { status: current ? 200 : 201, resource: await this.store.write(toWrite) };
  }

  /** `PUT Type?criteria`: update the one match, create if none, 412 if several. */
  async conditionalUpdate(resourceType: string, condition: string, resource: Resource): Promise<WriteResult> {
    const matches = await this.match(resourceType, condition);
    if (matches.length > 1) {
      throw preconditionFailed(`Conditional update ${resourceType}?${condition} matched ${matches.length} resources`);
    }
    return this.update(resourceType, this.conditionalTargetId(resourceType, matches[0], resource), resource);
  }

  /** The id a conditional update writes to: the match's, else the body's, else a new one. */
  conditionalTargetId(resourceType: string, match: Resource | undefined, resource: Resource): string {
    if (match && resource.id && resource.id !== match.id) {
      throw badRequest(`Resource id ${resource.id} does not match the conditional match ${match.id}`, [
        `${resourceType}.id`,
      ]);
    }
    return match?.id ?? resource.id ?? generateId();
  }

  /** Deleting what is not there succeeds (204), unless `ifMatch` names a version (where the profile checks it). */
  async delete(resourceType: string, id: string, ifMatch?: string): Promise<void> {
    assertResourceType(resourceType);
    const current = await this.store.read(resourceType, id);
    if (ifMatch !== undefined && this.profile.deleteHonoursIfMatch) {
      this.checkIfMatch(resourceType, id, current, ifMatch);
    }
    await this.store.remove(resourceType, id);
  }

  /** A DELETE on its own (not in a transaction): deletes, then checks referential integrity, or leaves it all undone. */
  async deleteOne(resourceType: string, id: string, ifMatch?: string): Promise<void> {
    await this.store.atomically(async () => {
      await this.delete(resourceType, id, ifMatch);
      await this.assertNotReferenced([`${resourceType}/${id}`]);
    });
  }

  /**
   * Where the profile enforces referential integrity: 409 if a current resource references one of `deleted`
   * (`Type/id`) that is still deleted. Runs after a DELETE, or at the end of the transaction that deleted them.
   */
  async assertNotReferenced(deleted: readonly string[]): Promise<void> {
    if (!this.profile.referentialIntegrityOnDelete || deleted.length === 0) return;
    const stillDeleted = new Set<string>();
    for (const reference of deleted) {
      const [type, id] = reference.split('/') as [string, string];
      if (!(await this.store.read(type, id))) stillDeleted.add(reference);
    }
    if (stillDeleted.size === 0) return;
    const [referrer] = await this.store.referrersOf(stillDeleted, this.baseUrl);
    if (referrer) {
      throw fhirError(
        409,
        'processing',
        `Unable to delete ${[...stillDeleted].join(', ')} because at least one resource has a reference to it: ` +
          `${referrer.resourceType}/${referrer.id}`,
      );
    }
  }

  private checkIfMatch(resourceType: string, id: string, current: Resource | undefined, ifMatch: string): void {
    if (current?.meta?.versionId === ifMatch) return;
    const message = `If-Match version ${ifMatch} does not match ${resourceType}/${id} (current version ${current?.meta?.versionId ?? 'none'})`;
    const status = current ? this.profile.staleIfMatchStatus : this.profile.ifMatchOnMissingStatus;
    throw status === 404 ? notFound(message) : fhirError(status, 'conflict', message);
  }

  /** The resource as this profile stores it: HAPI appends the request id to `meta.source`. */
  private stamped<T extends Resource>(resource: T): T {
    if (this.profile.metaSource !== 'append-request-id') return resource;
    const source = (resource.meta?.source ?? '').split('#')[0] ?? '';
    return { ...resource, meta: { ...resource.meta, source: `${source}#${this.requestId}` } };
  }

  private parseSearch(resourceType: string, query: URLSearchParams, lenient: boolean): SearchRequest {
    assertResourceType(resourceType);
    let request: SearchRequest;
    try {
      request = parseSearchRequest(resourceType, toRecord(query));
    } catch (error) {
      if (error instanceof OperationOutcomeError) {
        throw new FhirError(400, error.outcome);
      }
      throw error;
    }
    const unknown = (request.filters ?? []).filter((f) => !getSearchParameter(resourceType, f.code));
    if (unknown.length > 0) {
      if (!lenient) {
        throw badRequest(
          `Unsupported search parameter(s) for ${resourceType}: ${unknown.map((f) => f.code).join(', ')}`,
        );
      }
      request.filters = (request.filters ?? []).filter((f) => !unknown.includes(f));
    }
    const count = Math.min(request.count ?? this.pager.defaultCount, MAX_PAGE_SIZE);
    if (Number.isNaN(count) || count < 0 || Number.isNaN(request.offset ?? 0)) {
      throw badRequest('_count and _offset must be non-negative integers');
    }
    return { ...request, count };
  }

  private searchUrl(resourceType: string, query: URLSearchParams): string {
    const search = query.toString();
    return `${this.baseUrl}/${resourceType}${search ? `?${search}` : ''}`;
  }
}

function assertResourceType(resourceType: string): void {
  if (!isResourceType(resourceType)) {
    throw new FhirError(404, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-supported', diagnostics: `Unknown resource type ${resourceType}` }],
    });
  }
}

function toRecord(query: URLSearchParams): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const [key, value] of query) {
    (record[key] ??= []).push(value);
  }
  return record;
}
