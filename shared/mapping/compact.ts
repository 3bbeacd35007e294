/**
 * Removes what FHIR forbids: undefined, empty or blank strings, empty arrays and empty objects, at any depth
 * (an object that only held empty things is removed too). Numbers (0 too) and booleans are kept.
 * Returns undefined when nothing is left. So `value` may hold undefined properties: they are what it removes.
 */
export function compact<T>(value: T | { [K in keyof T]: T[K] | undefined }): T | undefined {
  return compactValue(value) as T | undefined;
}

function compactValue(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (Array.isArray(value)) {
    const items = value.map(compactValue).filter((item) => item !== undefined);
    return items.length ? items : undefined;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const kept = compactValue(child);
      if (kept !== undefined) out[key] = kept;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value;
}
