import { STATUS_CODES } from 'node:http';
import { generateId } from '@medplum/core';
import type { Bundle, BundleEntry, BundleEntryResponse, Resource } from '@medplum/fhirtypes';
import type { FhirInteractions, WriteResult } from './interactions.js';
import { badRequest, locateError, preconditionFailed, toFhirError } from './outcomes.js';
import { EntryTargets, parseEntry, resolveReferences, type EntryOperation, type Method } from './entryOperations.js';
import type { StorageLock } from './storageLock.js';
import type { FhirServerProfile } from './profiles.js';
import type { ResourceStore } from './store.js';
import { omitUndefined } from '../../shared/lib/omitUndefined.js';

/** How a transaction's POST entry ends: created with an id, or matched by its ifNoneExist condition. */
type CreateTarget = { id: string } | { existing: Resource };

/**
 * Processes a `transaction` or `batch` Bundle posted to the base URL. Takes the server lock itself: on a profile
 * with a `prepass` conditional create, a transaction's conditions are searched before it takes the lock, so that
 * concurrent transactions really interleave between the search and the write.
 */
export class BundleProcessor {
  private readonly profile: FhirServerProfile;

  constructor(
    private readonly interactions: FhirInteractions,
    private readonly store: ResourceStore,
    private readonly baseUrl: string,
    private readonly lock: StorageLock,
    /** The time between a prepass search and the next step, where other transactions run. */
    private readonly raceWindowMs = 5,
  ) {
    this.profile = interactions.profile;
  }

  /**
   * `returnMinimal` (the request's `Prefer: return=minimal`): the write entries' responses carry no resource, only
   * `Bundle.entry.response` ("In the case of transactions this means returning a Bundle with just the
   * Bundle.entry.response populated for each entry", http://hl7.org/fhir/R4/http.html#ops). Reads keep theirs.
   */
  async process(bundle: Bundle, requestId: string, returnMinimal = false): Promise<Bundle> {
    const answer = await this.processAll(bundle, requestId);
    if (!returnMinimal) return answer;
    const entry = answer.entry?.map((one, index) =>
      bundle.entry?.[index]?.request?.method === 'GET' ? one : omitResource(one),
    );
    return { ...answer, ...omitUndefined({ entry }) };
  }

  private async processAll(bundle: Bundle, requestId: string): Promise<Bundle> {
    const limit = this.profile.maxBundleEntries;
    if (limit !== undefined && (bundle.entry?.length ?? 0) > limit) {
      throw badRequest(
        `The number of entries in the bundle (${bundle.entry?.length}) exceeded the configured limit of ${limit}.`,
        ['Bundle.entry'],
      );
    }
    if (bundle.type === 'transaction') {
      return this.transaction(bundle, requestId);
    }
    if (bundle.type === 'batch') {
      return this.batch(bundle, requestId);
    }
    throw badRequest(`Bundle.type must be transaction or batch, not ${bundle.type}`, ['Bundle.type']);
  }

  /**
   * All or nothing: any failing entry rolls back every change the transaction made and the whole
   * request fails with that entry's status. `urn:uuid:` fullUrls are resolved to the ids the entries
   * end up with (new ids for creates, the existing resource for an `ifNoneExist` match).
   * Entries run in the R4 order (http://hl7.org/fhir/R4/http.html#trules): DELETE, POST, PUT, GET.
   */
  private async transaction(bundle: Bundle, requestId: string): Promise<Bundle> {
    const operations = (bundle.entry ?? []).map((entry, index) =>
      parseEntry(entry, index, this.baseUrl, this.profile.ifMatchSyntax),
    );
    const byMethod = (method: Method): EntryOperation[] => operations.filter((op) => op.method === method);
    const prepass = this.profile.conditionalCreate === 'prepass' ? await this.prepass(byMethod('POST')) : undefined;
    return this.lock.write(async () => {
      this.interactions.beginRequest(requestId);
      const responses: BundleEntry[] = [];
      await this.store.atomically(async () => {
        const targets = new EntryTargets(this.profile.rejectEntriesOnOneResource);
        const deleted: string[] = [];
        for (const op of byMethod('DELETE')) {
          targets.add(op, op.id as string);
          responses[op.index] = await this.located(op, () => this.execute(op));
          deleted.push(`${op.resourceType}/${op.id}`);
        }
        const references = new Map<string, string>();
        const creates = new Map<EntryOperation, CreateTarget>();
        const pendingConditions = new Map<string, string>();
        for (const op of byMethod('POST')) {
          const planned = prepass?.get(op);
          const target = planned
            ? planned.atExecution
            : await this.located(op, () => this.resolveCreate(op, pendingConditions));
          creates.set(op, target);
          const id = 'existing' in target ? (target.existing.id as string) : target.id;
          targets.add(op, id);
          // On a prepass server, references were rewritten in the prepass, whatever the entry finds later.
          this.addReference(references, op, planned?.referencedId ?? id);
        }
        const updateIds = new Map<EntryOperation, string>();
        for (const op of byMethod('PUT')) {
          const id = await this.located(op, () => this.resolveUpdate(op));
          targets.add(op, id);
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
        await this.interactions.assertNotReferenced(deleted);
        for (const op of byMethod('GET')) {
          responses[op.index] = await this.located(op, () => this.execute(op));
        }
      });
      return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
    });
  }

  /**
   * The AHDS FHIR service's conditional create: each ifNoneExist is searched in a pre-pass, which fixes the id
   * references are rewritten to, and searched again when the entry executes; neither search holds a lock, so a
   * resource another transaction creates in between is either matched late (references then point to an id that is
   * never created) or not seen at all (both create).
   */
  private async prepass(
    posts: EntryOperation[],
  ): Promise<Map<EntryOperation, { referencedId: string; atExecution: CreateTarget }>> {
    const pendingConditions = new Map<string, string>();
    const prepassTargets = new Map<EntryOperation, CreateTarget>();
    for (const op of posts) {
      prepassTargets.set(
        op,
        await this.lock.write(() => this.located(op, () => this.resolveCreate(op, pendingConditions))),
      );
    }
    await sleep(this.raceWindowMs);
    const plan = new Map<EntryOperation, { referencedId: string; atExecution: CreateTarget }>();
    for (const [op, target] of prepassTargets) {
      if ('existing' in target || !op.ifNoneExist) {
        plan.set(op, {
          referencedId: 'existing' in target ? (target.existing.id as string) : target.id,
          atExecution: target,
        });
        continue;
      }
      const [lateMatch] = await this.lock.write(() =>
        this.interactions.match(op.resourceType, op.ifNoneExist as string),
      );
      plan.set(op, { referencedId: target.id, atExecution: lateMatch ? { existing: lateMatch } : target });
    }
    await sleep(this.raceWindowMs);
    return plan;
  }

  /** Each entry on its own: failures are reported in that entry's response; no references between entries. */
  private async batch(bundle: Bundle, requestId: string): Promise<Bundle> {
    const entry: BundleEntry[] = [];
    for (const [index, bundleEntry] of (bundle.entry ?? []).entries()) {
      try {
        const op = parseEntry(bundleEntry, index, this.baseUrl, this.profile.ifMatchSyntax);
        entry.push(
          op.method === 'GET'
            ? await this.lock.read(() => this.execute(op))
            : await this.lock.write(() => {
                this.interactions.beginRequest(requestId);
                return op.method === 'DELETE'
                  ? this.interactions
                      .deleteOne(op.resourceType, op.id as string, op.ifMatch)
                      .then(() => ({ response: { status: statusLine(204) } }))
                  : this.store.atomically(() => this.execute(op));
              }),
        );
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
        // In a transaction, referential integrity is checked once at its end (the referrer may go too).
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

  private readResponse(resource: Resource): BundleEntry {
    return { fullUrl: this.fullUrl(resource), resource, response: { status: statusLine(200), ...versionOf(resource) } };
  }

  private writeResponse({ status, resource }: WriteResult): BundleEntry {
    const location = `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
    const response: BundleEntryResponse = {
      status: statusLine(status),
      location: this.profile.absoluteEntryLocation ? `${this.baseUrl}/${location}` : location,
      ...versionOf(resource),
    };
    return { fullUrl: this.fullUrl(resource), resource, response };
  }

  private fullUrl(resource: Resource): string {
    return `${this.baseUrl}/${resource.resourceType}/${resource.id}`;
  }
}

function omitResource(entry: BundleEntry): BundleEntry {
  const { resource: _omitted, ...rest } = entry;
  return rest;
}

function versionOf(resource: Resource): Pick<BundleEntryResponse, 'etag' | 'lastModified'> {
  return { etag: `W/"${resource.meta?.versionId}"`, ...omitUndefined({ lastModified: resource.meta?.lastUpdated }) };
}

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
