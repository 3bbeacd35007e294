// Several FHIR searches in one request: a `batch` Bundle of GETs, each entry answered on its own. A batch of GETs
// reads, it does not write, so nothing here needs a fence. Whatever the batch cannot answer whole (an entry that
// failed, a search with more than one page, a client without batch) is searched on its own, with the search's
// own paging limits, retries and error wording: the result is always every match of every search.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { FhirBatch, FhirClient } from './fhirClient.js';
import { searchPageSize } from './fhirClient.js';

/** One search: what `FhirClient.search` takes. */
export interface SearchRequest {
  resourceType: Resource['resourceType'];
  params: Record<string, string>;
}

/** A client that may send batches; one without `batch` (a test double) gets one search per request. */
export type SearchingClient = FhirClient & Partial<FhirBatch>;

/** The GET of one search, asking for the same page size as `FhirClient.search`. */
export function searchEntry(search: SearchRequest): BundleEntry {
  const query = new URLSearchParams({ _count: String(searchPageSize), ...search.params });
  return { request: { method: 'GET', url: `${search.resourceType}?${query.toString()}` } };
}

/** The matches of one batch entry, or undefined when the entry is not a complete, single-page answer. */
function completeMatches(entry: BundleEntry | undefined, resourceType: string): Resource[] | undefined {
  if (!entry?.response?.status?.startsWith('200')) return undefined;
  const searchset = entry.resource as Bundle | undefined;
  if (searchset?.resourceType !== 'Bundle') return undefined;
  if (searchset.link?.some((link) => link.relation === 'next')) return undefined;
  return (searchset.entry ?? []).flatMap((found) =>
    found.resource?.resourceType === resourceType && found.search?.mode !== 'include' ? [found.resource] : [],
  );
}

/**
 * Every match of each search, in the order of `searches`: one batch request when the client can send one and
 * there is more than one search; any search the batch did not answer completely is then sent on its own.
 */
export async function searchAll(fhir: SearchingClient, searches: readonly SearchRequest[]): Promise<Resource[][]> {
  const answered: (Resource[] | undefined)[] = new Array<undefined>(searches.length).fill(undefined);
  if (fhir.batch && searches.length > 1) {
    // A refused batch (4xx) is an error like a refused search: every FHIR R4 server this app supports takes batches.
    const response = await fhir.batch({ resourceType: 'Bundle', type: 'batch', entry: searches.map(searchEntry) });
    searches.forEach((search, index) => {
      answered[index] = completeMatches(response.entry?.[index], search.resourceType);
    });
  }
  return Promise.all(
    searches.map((search, index) => {
      const matches = answered[index];
      return matches ? Promise.resolve(matches) : fhir.search<Resource>(search.resourceType, search.params);
    }),
  );
}
