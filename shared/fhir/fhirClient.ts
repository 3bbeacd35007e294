import { Client } from 'fhir-kit-client';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { AuthorizationProvider } from '../auth/authorizationProvider.js';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { Attr } from '../telemetry/names.js';
import type { RequestObserver } from '../telemetry/telemetry.js';

/** The FHIR interactions the writer needs, behind an interface so the sync logic does no HTTP itself. */
export interface FhirClient {
  /** Every match of a search (follows `next` links). */
  search<T extends Resource>(resourceType: T['resourceType'], params: Record<string, string>): Promise<T[]>;
  /** Sends a transaction Bundle; a 409/412 becomes a RetryableError of category 'fhir-conflict'. */
  transaction(bundle: Bundle): Promise<Bundle>;
}

/** One page of a search: the matches, the resources `_include` brought, and the next page's URL. */
export interface FhirSearchPage<T extends Resource> {
  matches: T[];
  included: Resource[];
  next?: string;
}

/** Page-by-page search, for walks that must stop and resume (the drift sweep, verify). */
export interface FhirPages {
  /** The first page of a search, or the page at `pageUrl` (a `next` link from an earlier page). */
  searchPage<T extends Resource>(
    resourceType: T['resourceType'],
    params: Record<string, string>,
    pageUrl?: string,
  ): Promise<FhirSearchPage<T>>;
}

interface FhirKitError {
  response?: { status?: number; data?: unknown };
}

function statusOf(error: unknown): number | undefined {
  return (error as FhirKitError | undefined)?.response?.status;
}

/** The diagnostics of an OperationOutcome, which name what the server rejected and where. */
export function describeOutcome(data: unknown): string {
  const outcome = data as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome' || !outcome.issue) return '';
  return outcome.issue
    .map((issue) =>
      [issue.diagnostics ?? issue.details?.text ?? issue.code, issue.expression?.join(', ')]
        .filter(Boolean)
        .join(' at '),
    )
    .join('; ');
}

/** Turns a failed FHIR call into an error that says whether to retry; never includes request headers. */
export function toFhirError(error: unknown, what: string): Error {
  const status = statusOf(error);
  if (status === undefined) {
    const message = error instanceof Error ? error.message : String(error);
    return new RetryableError(`FHIR ${what} failed: ${message}`, 'transient');
  }
  const detail = describeOutcome((error as FhirKitError).response?.data);
  const message = `FHIR ${what} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 409 || status === 412) return new RetryableError(message, 'fhir-conflict');
  if (status === 401 || status === 429 || status >= 500) return new RetryableError(message, 'transient');
  return new NonRetryableError(message, 'fhir-rejected');
}

export interface FhirClientOptions {
  baseUrl: string;
  authorization: AuthorizationProvider;
  /** Times and counts each HTTP request (request metrics and client spans). */
  requests?: RequestObserver;
}

export function createFhirClient(options: FhirClientOptions): FhirClient & FhirPages {
  const client = new Client({
    baseUrl: options.baseUrl,
    // fhir-kit-client awaits the signer (HttpClient.buildRequest), although its type says it returns void.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    requestSigner: async (url: string, init: RequestInit) => {
      const header = await options.authorization.authorizationFor(url);
      const headers = init.headers as Headers;
      if (header) headers.set('authorization', header);
      else headers.delete('authorization');
    },
  });

  const requests = options.requests;
  const observed = <T>(operation: string, resourceType: string | undefined, call: () => Promise<T>): Promise<T> =>
    requests
      ? requests.observe(
          'fhir',
          operation,
          call,
          { ofError: statusOf },
          resourceType ? { [Attr.resourceType]: resourceType } : {},
        )
      : call();

  /** One refresh and one retry on a 401, never a loop. Each attempt is one observed request. */
  async function withAuthRetry<T>(
    operation: string,
    resourceType: string | undefined,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await observed(operation, resourceType, call);
    } catch (error) {
      if (statusOf(error) !== 401) throw error;
      options.authorization.invalidate();
      return await observed(operation, resourceType, call);
    }
  }

  return {
    async search<T extends Resource>(resourceType: T['resourceType'], params: Record<string, string>): Promise<T[]> {
      const found: T[] = [];
      try {
        let page = (await withAuthRetry('search', resourceType, () =>
          client.search({ resourceType, searchParams: params }),
        )) as unknown as Bundle;
        for (;;) {
          for (const entry of page.entry ?? []) {
            if (entry.resource?.resourceType === resourceType && entry.search?.mode !== 'include') {
              found.push(entry.resource as T);
            }
          }
          const next = page.link?.find((link) => link.relation === 'next')?.url;
          if (!next) break;
          page = (await withAuthRetry('search-page', resourceType, () => client.request(next))) as unknown as Bundle;
        }
      } catch (error) {
        throw toFhirError(error, `search ${resourceType}`);
      }
      return found;
    },
    async searchPage<T extends Resource>(
      resourceType: T['resourceType'],
      params: Record<string, string>,
      pageUrl?: string,
    ): Promise<FhirSearchPage<T>> {
      let page: Bundle;
      try {
        page = (await withAuthRetry(pageUrl ? 'search-page' : 'search', resourceType, () =>
          pageUrl ? client.request(pageUrl) : client.search({ resourceType, searchParams: params }),
        )) as unknown as Bundle;
      } catch (error) {
        throw toFhirError(error, `search ${resourceType}`);
      }
      const matches: T[] = [];
      const included: Resource[] = [];
      for (const entry of page.entry ?? []) {
        if (!entry.resource) continue;
        if (entry.resource.resourceType === resourceType && entry.search?.mode !== 'include') {
          matches.push(entry.resource as T);
        } else included.push(entry.resource);
      }
      const next = page.link?.find((link) => link.relation === 'next')?.url;
      return { matches, included, ...(next ? { next } : {}) };
    },
    async transaction(bundle: Bundle): Promise<Bundle> {
      try {
        return (await withAuthRetry('transaction', undefined, () =>
          client.transaction({ body: bundle as never }),
        )) as unknown as Bundle;
      } catch (error) {
        throw toFhirError(error, 'transaction');
      }
    },
  };
}
