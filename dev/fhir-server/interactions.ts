import {
  generateId,
  getSearchParameter,
  isResourceType,
  OperationOutcomeError,
  parseSearchRequest,
  type SearchRequest,
} from '@medplum/core';
import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError, gone, notFound, preconditionFailed } from './outcomes.js';
import type { ResourceStore } from './store.js';
import type { ResourceValidator } from './validation.js';

export interface WriteResult {
  /** 201 when a resource was created, 200 when updated or when a conditional create matched an existing one. */
  status: 200 | 201;
  resource: Resource;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

/**
 * The FHIR RESTful interactions (read, search, create, update, delete, conditional variants) on the store.
 * Callers serialize access: every call runs under the server's mutex.
 */
export class FhirInteractions {
  constructor(
    private readonly store: ResourceStore,
    private readonly validator: ResourceValidator,
    private readonly baseUrl: string,
  ) {}

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
    const request = this.parseSearch(resourceType, query, lenient);
    const { total, entries } = await this.store.search(request);
    const offset = request.offset ?? 0;
    const count = request.count ?? DEFAULT_PAGE_SIZE;
    const link: BundleLink[] = [{ relation: 'self', url: this.searchUrl(resourceType, query) }];
    if (count > 0 && offset + count < total) {
      const next = new URLSearchParams(query);
      next.set('_offset', String(offset + count));
      next.set('_count', String(count));
      link.push({ relation: 'next', url: this.searchUrl(resourceType, next) });
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
  async create(resource: Resource, options: { ifNoneExist?: string; id?: string } = {}): Promise<WriteResult> {
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
    const toCreate = { ...resource, id: options.id ?? generateId() };
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
    if (ifMatch !== undefined && current?.meta?.versionId !== ifMatch) {
      throw preconditionFailed(
        `If-Match version ${ifMatch} does not match ${resourceType}/${id} (current version ${current?.meta?.versionId ?? 'none'})`,
      );
    }
    const toWrite = { ...resource, id };
    this.validator.validate(toWrite);
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

  /** Deleting what is not there succeeds (204), unless `ifMatch` names a version. */
  async delete(resourceType: string, id: string, ifMatch?: string): Promise<void> {
    assertResourceType(resourceType);
    const current = await this.store.read(resourceType, id);
    if (ifMatch !== undefined && current?.meta?.versionId !== ifMatch) {
      throw preconditionFailed(
        `If-Match version ${ifMatch} does not match ${resourceType}/${id} (current version ${current?.meta?.versionId ?? 'none'})`,
      );
    }
    await this.store.remove(resourceType, id);
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
      request.filters = request.filters?.filter((f) => !unknown.includes(f));
    }
    const count = Math.min(request.count ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
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
