import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { ifMatchOf, referenceTo } from './versions.js';

/** A transaction entry that creates `resource` unless `params` already match one (If-None-Exist). */
export function conditionalCreate(resource: Resource, fullUrl: string, params: Record<string, string>): BundleEntry {
  return {
    fullUrl,
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: new URLSearchParams(params).toString() },
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
