import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { AuthorizationProvider } from '../auth/authorizationProvider.js';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { writeLimiterFor, type AdaptiveLimiter } from '../http/adaptiveLimiter.js';
import { createServerHttpClient } from '../http/serverHttpClient.js';
import { sendWithRetries, type RetryPolicy } from '../http/transientRetry.js';
import { Attr } from '../telemetry/names.js';
import type { RequestObserver } from '../telemetry/telemetry.js';
import { checkTransactionResponse, fhirStatusError } from './fhirErrors.js';

export { describeOutcome } from './fhirErrors.js';

/** The FHIR interactions the writer needs, behind an interface so the sync logic does no HTTP itself. */
export interface FhirClient {
  /** Every match of a search (follows `next` links on the server's origin, at most Fhir:MaxSearchPages pages). */
  search<T extends Resource>(resourceType: T['resourceType'], params: Record<string, string>): Promise<T[]>;
  /**
   * Sends a transaction Bundle; success only when every entry answered 2xx. A 409/412 (of the Bundle or an entry)
   * becomes a RetryableError of category 'fhir-conflict'.
   */
  transaction(bundle: Bundle): Promise<Bundle>;
}

/** A batch of reads: one request, each entry answered on its own (a batch-response; entries may fail alone). */
export interface FhirBatch {
  batch(bundle: Bundle): Promise<Bundle>;
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

/** Limits of the FHIR transport (settings under Fhir: and DicomCast:, see shared/config/appConfig.ts). */
export interface FhirTransportLimits {
  requestTimeoutMs: number;
  maxResponseBytes: number;
  maxSearchPages: number;
  maxConcurrentWrites: number;
  retryBudgetMs: number;
}

export const defaultFhirLimits: FhirTransportLimits = {
  requestTimeoutMs: 30_000,
  maxResponseBytes: 32 * 1024 * 1024,
  maxSearchPages: 100,
  maxConcurrentWrites: 16,
  retryBudgetMs: 120_000,
};

export interface FhirClientOptions {
  baseUrl: string;
  authorization: AuthorizationProvider;
  /** Times and counts each HTTP request (request metrics and client spans). */
  requests?: RequestObserver;
  limits?: Partial<FhirTransportLimits>;
  /** Backoff details (tests shorten the waits); the budget comes from limits.retryBudgetMs. */
  retry?: Omit<RetryPolicy, 'fallbackBudgetMs'>;
  /** The write limiter; default the process-wide one of the server's origin. */
  writeLimiter?: AdaptiveLimiter;
}

const fhirJson = 'application/fhir+json';
/**
 * The writer reads only each entry's response (status, location, etag) of a transaction, never the resources: without
 * them a large ImagingStudy is not sent back and parsed again. A server that ignores it costs the bytes, nothing else.
 */
const returnMinimal = 'return=minimal';

/** Entries asked for per search page (`_count`): the largest the AHDS FHIR service serves. */
export const searchPageSize = 1000;

/**
 * FHIR over the shared server HTTP client: token per origin, no redirects, total deadline and size cap per
 * request, transient failures retried within the invocation's budget, writes through the adaptive limiter.
 */
export function createFhirClient(options: FhirClientOptions): FhirClient & FhirPages & FhirBatch {
  const limits = { ...defaultFhirLimits, ...options.limits };
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const origin = new URL(baseUrl).origin;
  const http: AxiosInstance = createServerHttpClient({
    baseUrl,
    authorization: options.authorization,
    timeoutMs: limits.requestTimeoutMs,
    maxResponseBytes: limits.maxResponseBytes,
    limitSettings: { timeout: 'DicomCast:RequestTimeoutSeconds', responseBytes: 'Fhir:MaxResponseBytes' },
  });
  const policy: RetryPolicy = { ...options.retry, fallbackBudgetMs: limits.retryBudgetMs };
  const limiter = options.writeLimiter ?? writeLimiterFor(baseUrl, limits.maxConcurrentWrites);

  const observed = (
    operation: string,
    resourceType: string | undefined,
    call: () => Promise<AxiosResponse<unknown>>,
  ): Promise<AxiosResponse<unknown>> =>
    options.requests
      ? options.requests.observe(
          'fhir',
          operation,
          call,
          { ofResult: (response) => response.status },
          resourceType ? { [Attr.resourceType]: resourceType } : {},
        )
      : call();

  const getPage = (url: string, operation: string, resourceType: string) =>
    sendWithRetries(
      () => observed(operation, resourceType, () => http.get(url, { headers: { Accept: fhirJson } })),
      policy,
    );

  return {
    async search<T extends Resource>(resourceType: T['resourceType'], params: Record<string, string>): Promise<T[]> {
      const what = `search ${resourceType}`;
      const found: T[] = [];
      // Servers page small by default (AHDS 10, HAPI 20): a dose report's 1,200 Observations would take 121 pages.
      // Asking for the AHDS maximum keeps that to a few; a server with a lower maximum clamps it.
      const query = { _count: String(searchPageSize), ...params };
      let url = new URL(`${resourceType}?${new URLSearchParams(query).toString()}`, `${baseUrl}/`).toString();
      const visited = new Set<string>([url]);
      for (let page = 1; ; page++) {
        const response = await getPage(url, page === 1 ? 'search' : 'search-page', resourceType);
        if (response.status !== 200) throw fhirStatusError(response.status, response.data, what);
        const bundle = response.data as Bundle | undefined;
        if (bundle?.resourceType !== 'Bundle') {
          throw new NonRetryableError(`FHIR ${what} answered 200 without a Bundle (page ${page})`, 'fhir-rejected');
        }
        for (const entry of bundle.entry ?? []) {
          if (entry.resource?.resourceType === resourceType && entry.search?.mode !== 'include') {
            found.push(entry.resource as T);
          }
        }
        const next = bundle.link?.find((link) => link.relation === 'next')?.url;
        if (!next) return found;
        url = nextPageUrl(next, baseUrl, origin, what, page);
        if (visited.has(url)) {
          throw new NonRetryableError(
            `FHIR ${what}: the next link of page ${page} repeats an earlier page; paging stopped (a server paging loop)`,
            'fhir-rejected',
          );
        }
        if (page >= limits.maxSearchPages) {
          throw new NonRetryableError(
            `FHIR ${what}: more than ${limits.maxSearchPages} pages; paging stopped (Fhir:MaxSearchPages)`,
            'fhir-rejected',
            { setting: 'Fhir:MaxSearchPages' },
          );
        }
        visited.add(url);
      }
    },

    async searchPage<T extends Resource>(
      resourceType: T['resourceType'],
      params: Record<string, string>,
      pageUrl?: string,
    ): Promise<FhirSearchPage<T>> {
      const what = `search ${resourceType}`;
      // A page URL comes from an earlier page's next link: it is held to the server's origin like search's.
      const url = pageUrl
        ? nextPageUrl(pageUrl, baseUrl, origin, what, 0)
        : new URL(`${resourceType}?${new URLSearchParams(params).toString()}`, `${baseUrl}/`).toString();
      const response = await getPage(url, pageUrl ? 'search-page' : 'search', resourceType);
      if (response.status !== 200) throw fhirStatusError(response.status, response.data, what);
      const page = response.data as Bundle | undefined;
      if (page?.resourceType !== 'Bundle') {
        throw new NonRetryableError(`FHIR ${what} answered 200 without a Bundle`, 'fhir-rejected');
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

    /** Reads only: resending a batch of GETs whose response was lost is harmless. */
    async batch(bundle: Bundle): Promise<Bundle> {
      const response = await sendWithRetries(
        () =>
          observed('batch', undefined, () =>
            http.post('', bundle, { headers: { Accept: fhirJson, 'Content-Type': fhirJson } }),
          ),
        policy,
      );
      if (response.status !== 200) throw fhirStatusError(response.status, response.data, 'batch');
      const answer = response.data as Bundle | undefined;
      if (answer?.resourceType !== 'Bundle' || answer.type !== 'batch-response') {
        throw new RetryableError('FHIR batch answered 200 without a batch-response Bundle', 'transient');
      }
      return answer;
    },

    /**
     * Resending a transaction whose response was lost is safe: its creates are conditional (If-None-Exist) and its
     * updates and deletes carry If-Match, so a copy that did commit makes the resend answer 200 for the creates
     * (taken by the writer as "someone else created it": it reads again) or 412 for the rest (a conflict: it reads
     * again). Either way the writer re-plans from what FHIR holds; nothing is written twice.
     */
    async transaction(bundle: Bundle): Promise<Bundle> {
      const response = await sendWithRetries(
        () =>
          limiter.run(() =>
            observed('transaction', undefined, () =>
              http.post('', bundle, { headers: { Accept: fhirJson, 'Content-Type': fhirJson, Prefer: returnMinimal } }),
            ),
          ),
        policy,
        { onThrottle: () => limiter.throttled(), onSuccess: () => limiter.succeeded() },
      );
      if (response.status !== 200) throw fhirStatusError(response.status, response.data, 'transaction');
      return checkTransactionResponse(bundle, response.data);
    },
  };
}

/** The absolute URL of a `next` link; one on another origin is refused (our token and queries stay with the server). */
function nextPageUrl(next: string, baseUrl: string, origin: string, what: string, page: number): string {
  let url: URL;
  try {
    url = new URL(next, `${baseUrl}/`);
  } catch {
    throw new NonRetryableError(`FHIR ${what}: the next link of page ${page} is not a URL`, 'fhir-rejected');
  }
  if (url.origin !== origin) {
    throw new NonRetryableError(
      `FHIR ${what}: the next link of page ${page} points to another origin (${url.origin}); not followed`,
      'fhir-rejected',
    );
  }
  url.hash = '';
  return url.toString();
}
