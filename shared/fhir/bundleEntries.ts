import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { ifMatchOf, referenceTo } from './versions.js';

/**
 * A transaction entry that creates `resource` unless `params` already match one (If-None-Exist); without
 * `params`, a plain create (the caller checks for a racing copy afterwards).
 */
export function conditionalCreate(resource: Resource, fullUrl: string, params?: Record<string, string>): BundleEntry {
  return {
    fullUrl,
    resource,
    request: {
      method: 'POST',
      url: resource.resourceType,
      ...(params ? { ifNoneExist: new URLSearchParams(params).toString() } : {}),
    },
  };
}

/** A transaction entry that updates `resource` only if it is still at the version it was read at (If-Match). */
export function versionedUpdate(resource: Resource): BundleEntry {
  const ifMatch = ifMatchOf(resource);
  return {
    fullUrl: referenceTo(resource),
    resource,
    request: { method: 'PUT', url: referenceTo(resource), ...(ifMatch ? { ifMatch } : {}) },
  };
}

/** A transaction entry that deletes `resource` only if it is still at the version it was read at (If-Match). */
export function versionedDelete(resource: Resource): BundleEntry {
  const ifMatch = ifMatchOf(resource);
  return { request: { method: 'DELETE', url: referenceTo(resource), ...(ifMatch ? { ifMatch } : {}) } };
}

/**
 * How one logical transaction is sent when it has more entries than the server takes in one Bundle
 * (`Fhir:MaxBundleEntries`; AHDS rejects more than 500). Indexes are into the original entries.
 */
export interface TransactionParts {
  /** Sent first, in order: entries that reference nothing the fenced Bundle creates (idempotent by identity). */
  chunks: number[][];
  /** Sent last: the fence (`fenceIndexes`) with the entries that depend on it or are left over. */
  fenced: number[];
  /** Entries that depend on a resource the fenced Bundle creates and did not fit: the next round writes them. */
  deferred: number;
}

/**
 * Splits a transaction's entries so that no Bundle exceeds `maxEntries` and the fence (the ImagingStudy's write,
 * and the Endpoint and Patient it references) goes last: entries referencing a `urn:uuid:` the fence creates must
 * travel with it (they fill what room is left; the rest are `deferred`); the others go first in chunks. With
 * everything in one Bundle it is the whole transaction, unchanged.
 */
export function splitTransaction(entries: BundleEntry[], fenceIndexes: number[], maxEntries: number): TransactionParts {
  const all = entries.map((_, index) => index);
  if (entries.length <= maxEntries) return { chunks: [], fenced: all, deferred: 0 };
  const fence = new Set(fenceIndexes);
  const created = fenceIndexes
    .map((index) => entries[index]?.fullUrl)
    .filter((url): url is string => url?.startsWith('urn:uuid:') ?? false);
  const dependsOnFence = (index: number) => {
    const text = JSON.stringify(entries[index]?.resource ?? {});
    return created.some((url) => text.includes(url));
  };
  const others = all.filter((index) => !fence.has(index));
  const dependent = others.filter(dependsOnFence);
  const independent = others.filter((index) => !dependsOnFence(index));
  const room = Math.max(0, maxEntries - fence.size);

  if (dependent.length > 0) {
    // The fence creates what they reference: write it first with what fits, the rest once it exists.
    const withFence = dependent.slice(0, room);
    const deferred = dependent.length - withFence.length + independent.length;
    return { chunks: [], fenced: [...fence, ...withFence].sort((a, b) => a - b), deferred };
  }
  const early = independent.slice(0, Math.max(0, independent.length - room));
  const late = independent.slice(early.length);
  const chunks: number[][] = [];
  for (let start = 0; start < early.length; start += maxEntries) chunks.push(early.slice(start, start + maxEntries));
  return { chunks, fenced: [...fence, ...late].sort((a, b) => a - b), deferred: 0 };
}

/** A transaction Bundle of the given entries. */
export function transactionOf(entries: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
