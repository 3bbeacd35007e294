import type { Resource } from '@medplum/fhirtypes';

/** The If-Match value for the version of a resource as it was read. */
export function ifMatchOf(resource: Resource): string | undefined {
  const version = resource.meta?.versionId;
  return version ? `W/"${version}"` : undefined;
}

export function referenceTo(resource: Resource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}
