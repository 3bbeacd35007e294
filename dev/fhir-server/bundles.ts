import { STATUS_CODES } from 'node:http';
import { generateId } from '@medplum/core';
import type { Bundle, BundleEntry, BundleEntryResponse, Resource } from '@medplum/fhirtypes';
import type { FhirInteractions, WriteResult } from './interactions.js';
import { badRequest, locateError, preconditionFailed, toFhirError } from './outcomes.js';
import { parseETag, parseFhirPath } from './requestUrl.js';
import type { ResourceStore } from './store.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface EntryOperation {
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

/** Processes a `transaction` or `batch` Bundle posted to the base URL. */
export class BundleProcessor {
  constructor(
    private readonly interactions: FhirInteractions,
    private readonly store: ResourceStore,
    private readonly baseUrl: string,
  ) {}

  async process(bundle: Bundle): Promise<Bundle> {
    if (bundle.type === 'transaction') {
      return this.transaction(bundle);
    }
    if (bundle.type === 'batch') {
      return this.batch(bundle);
    }
    throw badRequest(`Bundle.type must be transaction or batch, not ${bundle.type}`, ['Bundle.type']);
  }

  /**
   * All or nothing: any failing entry rolls back every change the transaction made and the whole
   * request fails with that entry's status. `urn:uuid:` fullUrls are resolved to the ids the entries
   * end up with (new ids for creates, the existing resource for an `ifNoneExist` match).
   * Entries run in the R4 order (http://hl7.org/fhir/R4/http.html#trules): DELETE, POST, PUT, GET.
   */
  private async transaction(bundle: Bundle): Promise<Bundle> {
    const operations = (bundle.entry ?? []).map((entry, index) => this.parseEntry(entry, index));
    const responses: BundleEntry[] = [];
    const byMethod = (method: Method): EntryOperation[] => operations.filter((op) => op.method === method);
    await this.store.atomically(async () => {
      for (const op of byMethod('DELETE')) {
        responses[op.index] = await this.located(op, () => this.execute(op));
      }
      const references = new Map<string, string>();
      const creates = new Map<EntryOperation, { id: string } | { existing: Resource }>();
      const pendingConditions = new Map<string, string>();
      for (const op of byMethod('POST')) {
        const target = await this.located(op, () => this.resolveCreate(op, pendingConditions));
        creates.set(op, target);
        const id = 'existing' in target ? (target.existing.id as string) : target.id;
        this.addReference(references, op, id);
      }
      const updateIds = new Map<EntryOperation, string>();
      for (const op of byMethod('PUT')) {
        const id = await this.located(op, () => this.resolveUpdate(op));
        updateIds.set(op, id);
        this.addReference(references, op, id);
      }
      for (const [op, target] of creates) {
        responses[op.index] = await this.located(op, async () =>
          'existing' in target
            ? this.writeResponse({ status: 200, resource: target.existing })
            : this.writeResponse(
                await this.interactions.create(resolveReferences(op.resource as Resource, references), {
                  id: target.id,
                }),
              ),
        );
      }
      for (const [op, id] of updateIds) {
        responses[op.index] = await this.located(op, async () =>
          this.writeResponse(
            await this.interactions.update(
              op.resourceType,
              id,
              resolveReferences(op.resource as Resource, references),
              op.ifMatch,
            ),
          ),
        );
      }
      for (const op of byMethod('GET')) {
        responses[op.index] = await this.located(op, () => this.execute(op));
      }
    });
    return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
  }

  /** Each entry on its own: failures are reported in that entry's response; no references between entries. */
  private async batch(bundle: Bundle): Promise<Bundle> {
    const entry: BundleEntry[] = [];
    for (const [index, bundleEntry] of (bundle.entry ?? []).entries()) {
      try {
        const op = this.parseEntry(bundleEntry, index);
        entry.push(await this.store.atomically(() => this.execute(op)));
      } catch (error) {
        const failure = toFhirError(error);
        entry.push({ response: { status: statusLine(failure.status), outcome: failure.outcome } });
      }
    }
    return { resourceType: 'Bundle', type: 'batch-response', entry };
  }

  /** Runs one entry with no transaction context. */
  private async execute(op: EntryOperation): Promise<BundleEntry> {
    switch (op.method) {
      case 'GET':
        if (op.id === undefined) {
          return {
            resource: await this.interactions.search(op.resourceType, op.query ?? new URLSearchParams()),
            response: { status: statusLine(200) },
          };
        }
        return this.readResponse(
          op.versionId === undefined
            ? await this.interactions.read(op.resourceType, op.id)
            : await this.interactions.vread(op.resourceType, op.id, op.versionId),
        );
      case 'POST':
        return this.writeResponse(
          await this.interactions.create(op.resource as Resource, { ifNoneExist: op.ifNoneExist }),
        );
      case 'PUT':
        return this.writeResponse(
          op.id === undefined
            ? await this.interactions.conditionalUpdate(op.resourceType, op.rawQuery, op.resource as Resource)
            : await this.interactions.update(op.resourceType, op.id, op.resource as Resource, op.ifMatch),
        );
      case 'DELETE':
        await this.interactions.delete(op.resourceType, op.id as string, op.ifMatch);
        return { response: { status: statusLine(204) } };
    }
  }

  private async resolveCreate(
    op: EntryOperation,
    pendingConditions: Map<string, string>,
  ): Promise<{ id: string } | { existing: Resource }> {
    if (!op.ifNoneExist) {
      return { id: generateId() };
    }
    const [match, ...others] = await this.interactions.match(op.resourceType, op.ifNoneExist);
    if (others.length > 0) {
      throw preconditionFailed(
        `ifNoneExist ${op.resourceType}?${op.ifNoneExist} matched ${others.length + 1} resources`,
      );
    }
    if (match) {
      return { existing: match };
    }
    // Like Azure's FHIR service and HAPI, refuse two entries that would create the same resource.
    const condition = `${op.resourceType}?${op.ifNoneExist}`;
    const pending = pendingConditions.get(condition);
    if (pending) {
      throw badRequest(`ifNoneExist ${condition} appears in more than one entry (first: ${pending})`);
    }
    pendingConditions.set(condition, `Bundle.entry[${op.index}]`);
    return { id: generateId() };
  }

  private async resolveUpdate(op: EntryOperation): Promise<string> {
    if (op.id !== undefined) {
      return op.id;
    }
    const [match, ...others] = await this.interactions.match(op.resourceType, op.rawQuery);
    if (others.length > 0) {
      throw preconditionFailed(
        `Conditional update ${op.resourceType}?${op.rawQuery} matched ${others.length + 1} resources`,
      );
    }
    return this.interactions.conditionalTargetId(op.resourceType, match, op.resource as Resource);
  }

  private addReference(references: Map<string, string>, op: EntryOperation, id: string): void {
    if (op.fullUrl) {
      references.set(op.fullUrl, `${op.resourceType}/${id}`);
    }
  }

  private async located<T>(op: EntryOperation, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw locateError(toFhirError(error), `Bundle.entry[${op.index}]`);
    }
  }

  private parseEntry(entry: BundleEntry, index: number): EntryOperation {
    const at = `Bundle.entry[${index}]`;
    const method = entry.request?.method;
    const url = entry.request?.url;
    if (!method || !url) {
      throw badRequest(`${at}.request needs a method and url`, [`${at}.request`]);
    }
    if (method !== 'GET' && method !== 'POST' && method !== 'PUT' && method !== 'DELETE') {
      throw badRequest(`${at}: ${method} is not supported`, [`${at}.request.method`]);
    }
    const { segments, query, rawQuery } = parseFhirPath(url, this.baseUrl);
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
      id,
      versionId,
      query: method === 'GET' ? query : undefined,
      rawQuery,
      resource: entry.resource,
      fullUrl: entry.fullUrl,
      ifNoneExist: entry.request?.ifNoneExist,
      ifMatch: entry.request?.ifMatch === undefined ? undefined : parseETag(entry.request.ifMatch),
    };
  }

  private readResponse(resource: Resource): BundleEntry {
    return { fullUrl: this.fullUrl(resource), resource, response: { status: statusLine(200), ...versionOf(resource) } };
  }

  private writeResponse({ status, resource }: WriteResult): BundleEntry {
    const response: BundleEntryResponse = {
      status: statusLine(status),
      location: `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`,
      ...versionOf(resource),
    };
    return { fullUrl: this.fullUrl(resource), resource, response };
  }

  private fullUrl(resource: Resource): string {
    return `${this.baseUrl}/${resource.resourceType}/${resource.id}`;
  }
}

function versionOf(resource: Resource): Pick<BundleEntryResponse, 'etag' | 'lastModified'> {
  return { etag: `W/"${resource.meta?.versionId}"`, lastModified: resource.meta?.lastUpdated };
}

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}

/** Replaces `reference` values that name another entry's fullUrl (`urn:uuid:...`) with that entry's `Type/id`. */
function resolveReferences<T>(value: T, references: ReadonlyMap<string, string>): T {
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
