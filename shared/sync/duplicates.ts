import type { BundleEntry, Reference, Resource } from '@medplum/fhirtypes';
import { splitTransaction, transactionOf, versionedDelete, versionedUpdate } from '../fhir/bundleEntries.js';
import type { FhirClient } from '../fhir/fhirClient.js';
import { pointsAt, referenceTo } from '../fhir/versions.js';
import { byKeptFirst } from '../mapping/ownership.js';

/**
 * Copies of one identity (a race on a server whose conditional create is not atomic, an old DICOM Cast, a
 * person): which one the sync keeps, which extra copies are ours to remove and which it must leave alone.
 */
export interface IdentityCopies<T extends Resource> {
  kept: T | undefined;
  /** Extra copies this DICOM server wrote: their references are moved to `kept`, then they are deleted. */
  ours: T[];
  /** Extra copies someone else wrote: left alone (reported). */
  others: T[];
}

/**
 * Sorts exact matches into the kept copy and the extra ones, ours or others'. Kept: the copy with the lowest id
 * among ours, else among all (byKeptFirst). Ours first, because only a copy we wrote is one we may later delete
 * (a study gone from DICOM); others' copies stay whatever we keep, so keeping ours converges to one copy of ours.
 */
export function sortCopies<T extends Resource>(matches: readonly T[], isOurs: (copy: T) => boolean): IdentityCopies<T> {
  const sorted = byKeptFirst(matches);
  const kept = sorted.find(isOurs) ?? sorted[0];
  const extra = sorted.filter((copy) => copy !== kept);
  return { kept, ours: extra.filter(isOurs), others: extra.filter((copy) => !isOurs(copy)) };
}

/** Where the writer's resources reference a Patient, an Endpoint or an ImagingStudy. */
const referrers = {
  Patient: [
    { resourceType: 'ImagingStudy', param: 'subject' },
    { resourceType: 'Observation', param: 'subject' },
  ],
  Endpoint: [{ resourceType: 'ImagingStudy', param: 'endpoint' }],
  ImagingStudy: [{ resourceType: 'Observation', param: 'part-of' }],
} as const;

type ReferencedType = keyof typeof referrers;

/**
 * `references` with every reference to `from` (any version) pointing at `to`, without listing `to` twice: a moved
 * reference is dropped when the list already names `to`. References to anything else stay as they are.
 */
function repointList(references: Reference[] | undefined, from: string, to: string): Reference[] | undefined {
  if (!references?.some((reference) => pointsAt(reference, from))) return references;
  let namesTo = references.some((reference) => pointsAt(reference, to));
  const out: Reference[] = [];
  for (const reference of references) {
    if (!pointsAt(reference, from)) out.push(reference);
    else if (!namesTo) {
      out.push({ ...reference, reference: to });
      namesTo = true;
    }
  }
  return out;
}

/** Holders of reference lists: the referrer itself (endpoint, partOf) and an ImagingStudy's series (endpoint). */
interface ReferenceLists {
  endpoint?: Reference[];
  partOf?: Reference[];
}

/**
 * The reference fields the referrer searches match: ImagingStudy `subject`, `endpoint` (the search parameter is
 * `ImagingStudy.endpoint | ImagingStudy.series.endpoint`), Observation `subject`, `partOf`.
 */
interface Referrer extends ReferenceLists {
  subject?: Reference;
  series?: ReferenceLists[];
}

/**
 * The referrer with its references to `from` (subject, endpoint, series endpoint, partOf; versioned ones too) moved
 * to `to`, the plain `Type/id` the writer writes everywhere; undefined if it has none.
 */
export function repointReferrer(referrer: Resource, from: string, to: string): Resource | undefined {
  const moved = structuredClone(referrer);
  const fields = moved as Referrer;
  let changed = false;
  if (pointsAt(fields.subject, from)) {
    fields.subject = { ...fields.subject, reference: to };
    changed = true;
  }
  for (const holder of [fields, ...(fields.series ?? [])]) {
    for (const key of ['endpoint', 'partOf'] as const) {
      const list = holder[key];
      const next = repointList(list, from, to);
      if (next !== list && next) {
        holder[key] = next;
        changed = true;
      }
    }
  }
  return changed ? moved : undefined;
}

/**
 * Merges our extra copies into the kept one: every resource of ours that references an extra copy is updated
 * (If-Match) to reference the kept one, then the extra copy is deleted, in one transaction when it fits (the
 * updates in chunks before it when not). A conflict is the caller's to retry. Returns how many were removed.
 */
export async function mergeCopies<T extends Resource>(
  fhir: FhirClient,
  resourceType: ReferencedType,
  copies: IdentityCopies<T>,
  maxEntries: number,
): Promise<number> {
  const { kept, ours } = copies;
  if (!kept || ours.length === 0) return 0;
  const to = referenceTo(kept);
  const updates = new Map<string, Resource>();
  for (const extra of ours) {
    const from = referenceTo(extra);
    for (const { resourceType: referrerType, param } of referrers[resourceType]) {
      const found = await fhir.search<Resource>(referrerType, { [param]: from });
      for (const referrer of found) {
        const key = referenceTo(referrer);
        const moved = repointReferrer(updates.get(key) ?? referrer, from, to);
        if (moved) updates.set(key, moved);
      }
    }
  }
  const entries: BundleEntry[] = [...[...updates.values()].map(versionedUpdate), ...ours.map(versionedDelete)];
  const deletes = ours.map((_, index) => updates.size + index);
  const parts = splitTransaction(entries, deletes, maxEntries);
  for (const part of [...parts.chunks, parts.fenced]) {
    await fhir.transaction(transactionOf(part.map((index) => entries[index] as BundleEntry)));
  }
  return ours.length;
}
