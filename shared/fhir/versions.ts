import type { BundleEntryResponse, Resource } from '@medplum/fhirtypes';

/** The If-Match value for the version of a resource as it was read. */
export function ifMatchOf(resource: Resource): string | undefined {
  const version = resource.meta?.versionId;
  return version ? `W/"${version}"` : undefined;
}

export function referenceTo(resource: Resource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
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
