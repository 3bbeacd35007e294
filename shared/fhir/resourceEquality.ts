import type { Resource } from '@medplum/fhirtypes';

/**
 * True when writing `next` over `current` would change nothing a reader could see: equal as JSON, whatever the key
 * order, with undefined properties left out and the server-managed parts of `meta` (versionId, lastUpdated) ignored.
 *
 * Compared in place, without copying or serializing either side: the writer compares a large study's ImagingStudy
 * (tens of thousands of instance elements) on every change, and the series it kept as FHIR holds them are the very
 * objects it read, so they compare by identity at no cost.
 */
export function sameContent(current: Resource, next: Resource): boolean {
  const { meta: currentMeta, ...currentRest } = current;
  const { meta: nextMeta, ...nextRest } = next;
  if (!sameObject(currentRest, nextRest)) return false;
  if (currentMeta === undefined || nextMeta === undefined) return currentMeta === nextMeta;
  const { versionId: _cv, lastUpdated: _cl, ...currentKept } = currentMeta;
  const { versionId: _nv, lastUpdated: _nl, ...nextKept } = nextMeta;
  return sameObject(currentKept, nextKept);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && sameArray(a, b);
  if (isObject(a) && isObject(b)) return sameObject(a, b);
  return false;
}

/** JSON writes an undefined array item as null. */
function sameArray(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!sameValue(a[i] ?? null, b[i] ?? null)) return false;
  }
  return true;
}

function sameObject(a: object, b: object): boolean {
  let defined = 0;
  for (const [key, value] of Object.entries(a)) {
    if (value === undefined) continue;
    defined++;
    if (!sameValue(value, (b as Record<string, unknown>)[key])) return false;
  }
  for (const value of Object.values(b)) if (value !== undefined) defined--;
  return defined === 0;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
