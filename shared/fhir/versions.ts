import type { BundleEntryResponse, Reference, Resource } from '@medplum/fhirtypes';

/** The If-Match value for the version of a resource as it was read. */
export function ifMatchOf(resource: Resource): string | undefined {
  const version = resource.meta?.versionId;
  return version ? `W/"${version}"` : undefined;
}

export function referenceTo(resource: Resource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}

/** The resource a reference names, without the version it may pin (`Type/id/_history/2` → `Type/id`, any base). */
export function withoutVersion(reference: string): string {
  return reference.replace(/\/_history\/[^/]+$/, '');
}

/**
 * Whether `reference` names `target` (`Type/id`): relative or absolute at any base, as AHDS's search for
 * `Type/id` also matches it at any base; with or without a version, as both AHDS's and HAPI's searches do. (The
 * duplicate merge: a referrer the search returns but this misses would keep pointing at a copy that is then deleted.)
 */
export function pointsAt(reference: Reference | undefined, target: string): boolean {
  // A version pinned on a reference: AHDS and HAPI index and search it as `Type/id`.
  const value = withoutVersion(reference?.reference ?? '');
  return value === target || value.endsWith(`/${target}`);
}

/** The id and version a write entry's response names (`location` `[base/]Type/<id>/_history/<v>`, else the ETag). */
export function writtenVersion(
  response: BundleEntryResponse | undefined,
  resourceType: string,
): { id: string; versionId: string } | undefined {
  const match = new RegExp(`(?:^|/)${resourceType}/([^/]+)(?:/_history/([^/]+))?/?$`).exec(response?.location ?? '');
  const versionId = match?.[2] ?? /^(?:W\/)?"([^"]+)"$/.exec(response?.etag ?? '')?.[1];
  return match?.[1] && versionId ? { id: match[1], versionId } : undefined;
}
