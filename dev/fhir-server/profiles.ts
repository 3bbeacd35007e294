/**
 * Server behaviour profiles: how the local server behaves where real FHIR servers differ from it.
 * Each field is one row of the reference table fhir-servers.md ("How real FHIR servers differ from the local one");
 * the comment on each value names the source the table gives for it. The engine reads these fields; it never
 * asks which profile it runs.
 */

export type FhirProfileName = 'medplum' | 'azure' | 'hapi';

export const FHIR_PROFILE_NAMES: readonly FhirProfileName[] = ['medplum', 'azure', 'hapi'];

/** How search results are paged and what the `next` link looks like. */
export interface PagingStyle {
  /** `_offset` links (medplum), an opaque `ct` continuation token (azure), or `_getpages` links at the base (hapi). */
  kind: 'offset' | 'continuation' | 'getpages';
  /** Page size when the search gives no `_count`. */
  defaultCount: number;
}

export interface FhirServerProfile {
  name: FhirProfileName;
  /** For the CapabilityStatement's software.name. */
  software: string;
  /** More entries in one Bundle → 400. Undefined: unlimited. */
  maxBundleEntries: number | undefined;
  /**
   * `serialized`: a transaction's ifNoneExist conditions are resolved under the server lock (atomic).
   * `prepass`: resolved by searches before the transaction takes the lock, and searched again when the entry
   * executes (still outside the lock); a match appearing between the two leaves references to an id that is never
   * created, one appearing after the second is not seen at all (both transactions create).
   */
  conditionalCreate: 'serialized' | 'prepass';
  /** Whether If-Match on DELETE is checked. */
  deleteHonoursIfMatch: boolean;
  /** A PUT whose content equals the current version: a new version (true), or 200 with the current one. */
  identicalUpdateMakesVersion: boolean;
  /** `entry.response.location` and the `Location` header: absolute URL, or relative to the base. */
  absoluteEntryLocation: boolean;
  /** `lenient`: `W/"3"`, `"3"` and `3`; `weak-only`: only `W/"3"`, anything else is 400. */
  ifMatchSyntax: 'lenient' | 'weak-only';
  /** Status for an If-Match that names another version than the current one. */
  staleIfMatchStatus: 409 | 412;
  /** Status for an If-Match on a resource that does not exist (deleted or never created). */
  ifMatchOnMissingStatus: 404 | 409 | 412;
  /** `verbatim`, or rewritten to `<source before #>#<request id>` on every write. */
  metaSource: 'verbatim' | 'append-request-id';
  /** Whether deleting a resource that a current resource references fails with 409 (at the end of a transaction). */
  referentialIntegrityOnDelete: boolean;
  /** Whether two writing entries of one transaction may resolve to the same resource. */
  rejectEntriesOnOneResource: boolean;
  paging: PagingStyle;
  /** Extra headers on a 429 besides `Retry-After` (seconds). */
  retryAfterMsHeader: boolean;
}

/** Today's local server: Medplum's engine with everything serialized. */
const medplum: FhirServerProfile = {
  name: 'medplum',
  software: 'dicom-cast-functions local FHIR server (Medplum engine)',
  maxBundleEntries: undefined,
  conditionalCreate: 'serialized',
  deleteHonoursIfMatch: true,
  identicalUpdateMakesVersion: true,
  absoluteEntryLocation: false,
  ifMatchSyntax: 'lenient',
  staleIfMatchStatus: 412,
  ifMatchOnMissingStatus: 412,
  metaSource: 'verbatim',
  referentialIntegrityOnDelete: false,
  rejectEntriesOnOneResource: false,
  paging: { kind: 'offset', defaultCount: 50 },
  retryAfterMsHeader: false,
};

/** Azure Health Data Services FHIR service (microsoft/fhir-server). */
const azure: FhirServerProfile = {
  name: 'azure',
  software: 'Microsoft FHIR Server (emulated by the local server, profile azure)',
  maxBundleEntries: 500, // BundleConfiguration.EntryLimit
  conditionalCreate: 'prepass', // TransactionBundleValidator / BundleHandler; microsoft/fhir-server#1382
  deleteHonoursIfMatch: false, // FhirController.Delete takes no If-Match
  identicalUpdateMakesVersion: false, // SqlServerFhirDataStore.ExistingRawResourceIsEqualToInput
  absoluteEntryLocation: true, // FhirResultExtensions
  ifMatchSyntax: 'weak-only', // WeakETag
  staleIfMatchStatus: 412,
  ifMatchOnMissingStatus: 404,
  metaSource: 'verbatim',
  referentialIntegrityOnDelete: false,
  rejectEntriesOnOneResource: true, // "Bundle contains multiple entries that refers to the same resource"
  paging: { kind: 'continuation', defaultCount: 10 },
  retryAfterMsHeader: true, // x-ms-retry-after-ms
};

/** HAPI FHIR JPA server with its defaults (hapifhir/hapi-fhir). */
const hapi: FhirServerProfile = {
  name: 'hapi',
  software: 'HAPI FHIR Server (emulated by the local server, profile hapi)',
  maxBundleEntries: undefined,
  conditionalCreate: 'serialized', // unique key on the search URL (HFJ_RES_SEARCH_URL)
  deleteHonoursIfMatch: false,
  identicalUpdateMakesVersion: false, // no-op update
  absoluteEntryLocation: false,
  ifMatchSyntax: 'lenient',
  staleIfMatchStatus: 409, // ResourceVersionConflictException
  ifMatchOnMissingStatus: 409, // unverified: treated as a version conflict
  metaSource: 'append-request-id', // StoreMetaSourceInformation default SOURCE_URI_AND_REQUEST_ID
  referentialIntegrityOnDelete: true, // enforce referential integrity on delete (default on)
  rejectEntriesOnOneResource: false,
  paging: { kind: 'getpages', defaultCount: 20 },
  retryAfterMsHeader: false,
};

export const FHIR_PROFILES: Readonly<Record<FhirProfileName, FhirServerProfile>> = { medplum, azure, hapi };

export function isFhirProfileName(name: string): name is FhirProfileName {
  return (FHIR_PROFILE_NAMES as readonly string[]).includes(name);
}

/** The profile for a name; throws naming the valid ones. */
export function fhirProfile(name: string): FhirServerProfile {
  if (!isFhirProfileName(name)) {
    throw new Error(`Unknown FHIR server profile "${name}": use one of ${FHIR_PROFILE_NAMES.join(', ')}`);
  }
  return FHIR_PROFILES[name];
}
