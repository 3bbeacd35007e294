import type { Resource } from '@medplum/fhirtypes';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== undefined) out[key] = canonical(child);
    }
    return out;
  }
  return value;
}

/** The resource without the server-managed parts of `meta`, in a key order that does not matter. */
function comparable(resource: Resource): string {
  const { meta, ...rest } = resource;
  const keptMeta = meta ? { ...meta, versionId: undefined, lastUpdated: undefined } : undefined;
  return JSON.stringify(canonical({ ...rest, meta: keptMeta }));
}

/** True when writing `next` over `current` would change nothing a reader could see. */
export function sameContent(current: Resource, next: Resource): boolean {
  return comparable(current) === comparable(next);
}
