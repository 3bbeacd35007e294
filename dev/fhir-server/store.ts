import { getSearchParameter, matchesSearchRequest, Operator, type Filter, type SearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';
import { IdentifierIndex } from './identifierIndex.js';
import { withoutVersion } from '../../shared/fhir/versions.js';

export interface StoredEntry {
  resource: Resource;
  mode: 'match' | 'include';
}

export interface SearchResult {
  total: number;
  entries: StoredEntry[];
}

interface JournalEntry {
  resource: Resource | undefined;
  deletedVersion: number | undefined;
}

/**
 * The current version of every resource, kept in Medplum's MemoryRepository and adapted for a server:
 * - versions are sequential integers ("1", "2", ...) like Azure's FHIR service, not random ids;
 * - only the current version is kept (the bench rewrites big ImagingStudies thousands of times, and
 *   MemoryRepository would otherwise keep every version forever);
 * - deletes leave a tombstone so reads can answer 410 Gone and re-creates continue the version count;
 * - `identifier` searches use an index instead of MemoryRepository's linear scan;
 * - `atomically` journals the prior state of every resource it touches and restores it if the work
 *   throws, since MemoryRepository has no rollback.
 * Not safe for interleaved writers: the server runs every write alone under its storage lock (reads run together).
 */
export class ResourceStore {
  private readonly repo = new MemoryRepository();
  private readonly identifiers = new IdentifierIndex();
  private readonly deletedVersions = new Map<string, number>();
  private readonly types = new Set<string>();
  /** Types that have held a reference naming a version since the last clear: only their searches need a scan. */
  private readonly typesWithVersionedReferences = new Set<string>();
  private journal: Map<string, JournalEntry> | undefined;

  /** @param latencyMs - simulated storage latency per read/write/search, so concurrent requests really interleave */
  constructor(private readonly latencyMs = 0) {}

  async read(resourceType: string, id: string): Promise<Resource | undefined> {
    await this.storageLatency();
    try {
      return await this.repo.readResource<Resource>(resourceType, id);
    } catch {
      return undefined;
    }
  }

  wasDeleted(resourceType: string, id: string): boolean {
    return this.deletedVersions.has(`${resourceType}/${id}`);
  }

  /** Creates or replaces `resource` (which must have an id) as its next version. */
  async write(resource: Resource): Promise<Resource> {
    const id = resource.id as string;
    const key = `${resource.resourceType}/${id}`;
    const previous = await this.read(resource.resourceType, id);
    this.remember(key, previous);
    const version = (previous ? Number(previous.meta?.versionId) : (this.deletedVersions.get(key) ?? 0)) + 1;
    const meta = { ...resource.meta, versionId: String(version), lastUpdated: new Date().toISOString() };
    this.deletedVersions.delete(key);
    return (await this.replace(previous, { ...resource, meta })) as Resource;
  }

  /** Deletes a resource; returns the deleted version, or undefined if there was nothing to delete. */
  async remove(resourceType: string, id: string): Promise<Resource | undefined> {
    const key = `${resourceType}/${id}`;
    const previous = await this.read(resourceType, id);
    if (!previous) {
      return undefined;
    }
    this.remember(key, previous);
    await this.replace(previous, undefined);
    this.deletedVersions.set(key, Number(previous.meta?.versionId));
    return previous;
  }

  async search(request: SearchRequest): Promise<SearchResult> {
    await this.storageLatency();
    const plain = !request.sortRules?.length && !request.include && !request.revInclude;
    const indexed = plain ? this.indexedFilter(request) : undefined;
    const byReference =
      plain &&
      this.typesWithVersionedReferences.has(request.resourceType) &&
      (request.filters ?? []).some((filter) => isReferenceFilter(request.resourceType, filter));
    if (!indexed && !byReference) {
      const bundle = await this.repo.search(request);
      return {
        total: bundle.total ?? 0,
        entries: (bundle.entry ?? []).map((e) => ({
          resource: e.resource as Resource,
          mode: e.search?.mode === 'include' ? 'include' : 'match',
        })),
      };
    }
    const rest: SearchRequest = { ...request, filters: (request.filters ?? []).filter((f) => f !== indexed?.filter) };
    const candidates: (Resource | undefined)[] = indexed ? [] : await this.all(request.resourceType);
    for (const id of indexed?.ids ?? []) candidates.push(await this.read(request.resourceType, id));
    const matches: Resource[] = [];
    for (const resource of candidates) {
      // Matched as AHDS and HAPI index a reference: `Type/id/_history/2` is `Type/id` (Medplum compares strings).
      if (resource && (!rest.filters?.length || matchesSearchRequest(withoutReferenceVersions(resource), rest))) {
        matches.push(resource);
      }
    }
    const offset = request.offset ?? 0;
    const page = matches.slice(offset, request.count === undefined ? undefined : offset + request.count);
    return { total: matches.length, entries: page.map((resource) => ({ resource, mode: 'match' })) };
  }

  async all(resourceType: string): Promise<Resource[]> {
    const bundle = await this.repo.search({ resourceType: resourceType as Resource['resourceType'] });
    return (bundle.entry ?? []).map((e) => e.resource as Resource);
  }

  /** Current resources with a `reference` to one of `targets` (`Type/id`), any type; for referential integrity. */
  async referrersOf(targets: ReadonlySet<string>, baseUrl: string): Promise<Resource[]> {
    const referrers: Resource[] = [];
    for (const type of this.types) {
      for (const resource of await this.all(type)) {
        if (referencesAny(resource, targets, baseUrl)) referrers.push(resource);
      }
    }
    return referrers;
  }

  clear(): void {
    this.types.clear();
    this.typesWithVersionedReferences.clear();
    this.repo.clear();
    this.identifiers.clear();
    this.deletedVersions.clear();
  }

  /** Runs `work`; if it throws, every resource it wrote or deleted is put back as it was, then the error is rethrown. */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    if (this.journal) {
      return work();
    }
    const journal = new Map<string, JournalEntry>();
    this.journal = journal;
    try {
      return await work();
    } catch (error) {
      this.journal = undefined;
      await this.rollback(journal);
      throw error;
    } finally {
      this.journal = undefined;
    }
  }

  private async rollback(journal: Map<string, JournalEntry>): Promise<void> {
    for (const [key, before] of journal) {
      const [resourceType, id] = key.split('/') as [string, string];
      await this.replace(await this.read(resourceType, id), before.resource);
      if (before.deletedVersion === undefined) {
        this.deletedVersions.delete(key);
      } else {
        this.deletedVersions.set(key, before.deletedVersion);
      }
    }
  }

  private async storageLatency(): Promise<void> {
    if (this.latencyMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    }
  }

  private remember(key: string, previous: Resource | undefined): void {
    if (this.journal && !this.journal.has(key)) {
      this.journal.set(key, { resource: previous, deletedVersion: this.deletedVersions.get(key) });
    }
  }

  /**
   * Swaps the stored version. Expunging first drops MemoryRepository's history of the resource, and
   * seeding mode makes it keep the meta.versionId/lastUpdated given here.
   */
  private async replace(previous: Resource | undefined, next: Resource | undefined): Promise<Resource | undefined> {
    if (previous) {
      this.identifiers.remove(previous);
      await this.repo.expungeResource(previous.resourceType, previous.id as string);
    }
    if (!next) {
      return undefined;
    }
    const stored = await this.repo.withSeeding(() => this.repo.createResource(next));
    this.identifiers.add(stored);
    this.types.add(stored.resourceType);
    if (withoutReferenceVersions(stored) !== stored) this.typesWithVersionedReferences.add(stored.resourceType);
    return stored;
  }

  /** A filter the candidates can be read from directly (`_id`, or an indexed `identifier`), with those ids. */
  private indexedFilter(request: SearchRequest): { filter: Filter; ids: Set<string> } | undefined {
    for (const filter of request.filters ?? []) {
      if (filter.code === '_id' && filter.operator === Operator.EQUALS && !filter.value.includes(',')) {
        return { filter, ids: new Set([filter.value]) };
      }
      const ids = this.identifiers.candidates(request.resourceType, filter);
      if (ids) {
        return { filter, ids };
      }
    }
    return undefined;
  }
}

function referencesAny(value: unknown, targets: ReadonlySet<string>, baseUrl: string): boolean {
  if (Array.isArray(value)) return value.some((item) => referencesAny(item, targets, baseUrl));
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, child]) => {
    if (key !== 'reference' || typeof child !== 'string') return referencesAny(child, targets, baseUrl);
    const target = withoutVersion(child);
    return targets.has(target.startsWith(`${baseUrl}/`) ? target.slice(baseUrl.length + 1) : target);
  });
}

/** `value` with its references naming no version, to match a reference search against; unchanged parts shared. */
function withoutReferenceVersions<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  let changed = false;
  const next = entries.map(([key, child]) => {
    const plain =
      key === 'reference' && typeof child === 'string'
        ? withoutVersion(child)
        : withoutReferenceVersions(child as unknown);
    changed ||= plain !== child;
    return plain;
  });
  if (!changed) return value;
  if (Array.isArray(value)) return next as T;
  return Object.fromEntries(entries.map(([key], index) => [key, next[index]])) as T;
}

function isReferenceFilter(resourceType: string, filter: Filter): boolean {
  return getSearchParameter(resourceType, filter.code)?.type === 'reference';
}
