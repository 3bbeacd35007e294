import type { Resource } from '@medplum/fhirtypes';
import { compareText } from '../../shared/lib/compareText.js';
import { isPlainObject } from '../../shared/lib/isPlainObject.js';

/**
 * Whether a write would store what is already there: everything but `meta.versionId`/`meta.lastUpdated` equal, and
 * a `meta.source` only differing in its request id (`#...`, which HAPI rewrites on every write).
 */
export function sameContent(current: Resource, next: Resource): boolean {
  const comparable = (resource: Resource): unknown => {
    const { versionId: _v, lastUpdated: _l, source, ...meta } = resource.meta ?? {};
    const base = source?.split('#')[0];
    return canonical({ ...resource, meta: { ...meta, ...(base ? { source: base } : {}) } });
  };
  return JSON.stringify(comparable(current)) === JSON.stringify(comparable(next));
}

/** Sorted keys, empty objects dropped, so key order and an empty `meta` do not count as a change. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value)
    .map(([key, child]) => [key, canonical(child)] as const)
    .filter(([, child]) => !(isPlainObject(child) && Object.keys(child).length === 0))
    .sort(([a], [b]) => compareText(a, b));
  return Object.fromEntries(entries);
}
