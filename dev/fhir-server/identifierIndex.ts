import { getSearchParameter, Operator, splitSearchOnComma, type Filter } from '@medplum/core';
import type { Identifier, Resource } from '@medplum/fhirtypes';

/**
 * Resource ids by identifier token, per resource type, so that `identifier=` searches (the product's
 * conditional creates and lookups) do not scan every resource. It reproduces Medplum's token matching
 * exactly (case-insensitive; an identifier's `type.text` is also a system-less token), so an indexed
 * filter needs no re-check.
 */
export class IdentifierIndex {
  private readonly byType = new Map<string, Map<string, Set<string>>>();
  private readonly indexedTypes = new Map<string, boolean>();

  /** Whether `identifier` searches on this type read `<Type>.identifier`, which is what gets indexed. */
  covers(resourceType: string): boolean {
    let covered = this.indexedTypes.get(resourceType);
    if (covered === undefined) {
      // Shared parameters list many types: `AllergyIntolerance.identifier | CarePlan.identifier | ...`
      const paths = getSearchParameter(resourceType, 'identifier')?.expression?.split('|') ?? [];
      covered = paths.some((path) => path.trim() === `${resourceType}.identifier`);
      this.indexedTypes.set(resourceType, covered);
    }
    return covered;
  }

  add(resource: Resource): void {
    this.forEachKey(resource, (keys, key) => {
      let ids = keys.get(key);
      if (!ids) {
        ids = new Set();
        keys.set(key, ids);
      }
      ids.add(resource.id as string);
    });
  }

  remove(resource: Resource): void {
    this.forEachKey(resource, (keys, key) => {
      const ids = keys.get(key);
      ids?.delete(resource.id as string);
      if (ids?.size === 0) {
        keys.delete(key);
      }
    });
  }

  clear(): void {
    this.byType.clear();
  }

  /** Candidate ids for an `identifier` filter, or undefined when the filter cannot be answered from the index. */
  candidates(resourceType: string, filter: Filter): Set<string> | undefined {
    if (filter.code !== 'identifier' || filter.operator !== Operator.EQUALS || !this.covers(resourceType)) {
      return undefined;
    }
    const keys = this.byType.get(resourceType);
    const result = new Set<string>();
    for (const token of splitSearchOnComma(filter.value)) {
      const key = queryKey(token);
      if (key === undefined) {
        return undefined;
      }
      keys?.get(key)?.forEach((id) => result.add(id));
    }
    return result;
  }

  private forEachKey(resource: Resource, visit: (keys: Map<string, Set<string>>, key: string) => void): void {
    if (!resource.id || !this.covers(resource.resourceType)) {
      return;
    }
    const identifiers = (resource as { identifier?: Identifier | Identifier[] }).identifier;
    if (!identifiers) {
      return;
    }
    let keys = this.byType.get(resource.resourceType);
    if (!keys) {
      keys = new Map();
      this.byType.set(resource.resourceType, keys);
    }
    for (const identifier of Array.isArray(identifiers) ? identifiers : [identifiers]) {
      const tokens: [string | undefined, string | undefined][] = [
        [identifier.system, identifier.value],
        [undefined, identifier.type?.text],
      ];
      for (const [system, rawValue] of tokens) {
        if (!rawValue) {
          continue;
        }
        const value = rawValue.toLowerCase();
        visit(keys, `value:${value}`);
        visit(keys, system ? `system:${system.toLowerCase()}|${value}` : `nosystem:${value}`);
      }
    }
  }
}

/** The index key for one token of a search value: `system|value`, `|value` (no system) or `value` (any system). */
function queryKey(token: string): string | undefined {
  const bar = token.indexOf('|');
  if (bar < 0) {
    return `value:${token.toLowerCase()}`;
  }
  const system = token.slice(0, bar).toLowerCase();
  const value = token.slice(bar + 1).toLowerCase();
  if (!value || value.includes('|')) {
    return undefined; // `system|` (any value in a system) is left to the linear scan
  }
  return system ? `system:${system}|${value}` : `nosystem:${value}`;
}
