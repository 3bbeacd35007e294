import type { Identifier, Resource } from '@medplum/fhirtypes';
import { defaultPartition } from '../dicomweb/studyReader.js';
import { compareText } from '../lib/compareText.js';

/**
 * Who wrote a resource, and which search results really are the resource we looked for.
 *
 * Ownership is `meta.source`: this DICOM server's endpoint E (default partition, as DICOM Cast wrote it) or
 * `E/partitions/<name>` (a named partition). HAPI stores `meta.source` as `<source>#<requestId>`, so only the
 * part before the first `#` is compared, and exactly (no prefix, no case folding).
 */

const dicomUidSystem = 'urn:dicom:uid';
const partitionSystemPrefix = 'urn:dicom-cast:partition:';

/** A named, non-default partition, or undefined for the default one (however the feed spelt it). */
export function namedPartition(partition: string | undefined): string | undefined {
  return partition && partition !== defaultPartition ? partition : undefined;
}

/**
 * The system of a study's identifier: `urn:dicom:uid` in the default partition (DICOM Cast's, so its data is
 * found), `urn:dicom-cast:partition:<name>` in a named one, so one StudyInstanceUID in two partitions is two
 * ImagingStudies that never find each other.
 */
export function studyIdentifierSystem(partition: string | undefined): string {
  const named = namedPartition(partition);
  return named === undefined ? dicomUidSystem : `${partitionSystemPrefix}${encodeURIComponent(named)}`;
}

/** `meta.source` of what this DICOM server (and partition) writes. */
export function ownSource(endpoint: string, partition?: string): string {
  const named = namedPartition(partition);
  return named === undefined ? endpoint : `${endpoint.replace(/\/+$/, '')}/partitions/${encodeURIComponent(named)}`;
}

/** `meta.source` without a server-added `#<requestId>` suffix (HAPI). */
export function sourceOf(resource: Resource | undefined): string | undefined {
  const source = resource?.meta?.source;
  if (source === undefined) return undefined;
  const hash = source.indexOf('#');
  return hash === -1 ? source : source.slice(0, hash);
}

/** Whether `resource` was written by this DICOM server (and partition): the only resources we ever delete. */
export function isOwnedBy(resource: Resource | undefined, source: string): boolean {
  return sourceOf(resource) === source;
}

/**
 * Whether `identifiers` hold exactly `system|value`: both compared as strings, case-sensitively. An empty system
 * means an identifier without one. A server's search may match more loosely (case folding, escapes, prefixes);
 * whatever it returns that fails this is not the resource searched for.
 */
export function hasExactIdentifier(identifiers: readonly Identifier[] | undefined, system: string, value: string) {
  return (identifiers ?? []).some((identifier) => (identifier.system ?? '') === system && identifier.value === value);
}

/**
 * Copies of one identity by id, lowest first: ids never change (unlike meta.lastUpdated, which every write
 * moves), so every writer that sees the same copies keeps the same one, and a copy created later by a race only
 * takes over when its id sorts first, in which case the others are merged into it the same way.
 */
export function byKeptFirst<T extends Resource>(copies: readonly T[]): T[] {
  return [...copies].sort((a, b) => compareText(a.id ?? '', b.id ?? ''));
}
