import type { AxiosInstance, AxiosResponse } from 'axios';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { sendWithRetries, type RetryPolicy } from '../http/transientRetry.js';
import type { RequestObserver } from '../telemetry/telemetry.js';
import { isBadRow, parseChangeFeedRow, type ChangeFeedRow } from './changeFeedRow.js';

export type ChangeFeedVersion = 'v1' | 'v2';

/**
 * Reads the Azure DICOM service change feed. Pages come back as rows: valid entries and bad rows side by side,
 * so one malformed row never costs the page. Metadata is never asked for: the writer reads the study itself.
 */
export interface ChangeFeedClient {
  readonly version: ChangeFeedVersion;
  /** The newest row, or undefined when the feed is empty. */
  latest(): Promise<ChangeFeedRow | undefined>;
  /** v1: rows with afterSequence < sequence <= afterSequence + limit (a sequence window, gaps make it short). */
  readV1(afterSequence: number, limit: number): Promise<ChangeFeedRow[]>;
  /** v2: rows with startTime <= timestamp (< endTime), ordered by (timestamp, sequence), skipping `offset` rows. */
  readV2(startTime: string, offset: number, limit: number, endTime?: string): Promise<ChangeFeedRow[]>;
}

type Params = Record<string, string | number | boolean>;

function pathOf(http: AxiosInstance, url: string): string {
  try {
    return new URL(http.getUri({ url })).pathname;
  } catch {
    return url;
  }
}

/** Turns a status into the error kind the poller acts on; the message names only the path and the status. */
function failureFor(path: string, status: number): Error {
  const message = `GET ${path} returned HTTP ${status}`;
  if (status >= 500 || status === 429 || status === 408) return new RetryableError(message, 'transient');
  return new NonRetryableError(message, 'configuration');
}

async function get(
  http: AxiosInstance,
  url: string,
  params: Params,
  requests: RequestObserver | undefined,
  policy: RetryPolicy,
): Promise<{ status: number; body: unknown }> {
  let response: AxiosResponse<unknown>;
  const call = () => http.get<unknown>(url, { params, responseType: 'json' });
  const operation = url.endsWith('/latest') ? 'changefeed-latest' : 'changefeed';
  const observed = () =>
    requests ? requests.observe('dicom', operation, call, { ofResult: (result) => result.status }) : call();
  try {
    response = await sendWithRetries(observed, policy);
  } catch (error) {
    // The transport's errors name the request without its query or headers; an auth failure (a token endpoint
    // refusing the client) keeps its own kind and message rather than becoming a "network error".
    if (error instanceof RetryableError || error instanceof NonRetryableError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new RetryableError(
      `GET ${pathOf(http, url)} failed: ${typeof code === 'string' ? code : 'network error'}`,
      'transient',
    );
  }
  return { status: response.status, body: parseBody(response.data) };
}

function parseBody(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  if (data.trim() === '') return undefined;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

export function createChangeFeedClient(
  http: AxiosInstance,
  version: ChangeFeedVersion,
  requests?: RequestObserver,
  /** Retries of transient failures within the invocation's budget (default budget 120 s outside one). */
  retry: RetryPolicy = { fallbackBudgetMs: 120_000 },
): ChangeFeedClient {
  const readPage = async (url: string, params: Params): Promise<ChangeFeedRow[]> => {
    const { status, body } = await get(http, url, { ...params, includeMetadata: false }, requests, retry);
    if (status === 204) return [];
    if (status !== 200) throw failureFor(pathOf(http, url), status);
    if (body === undefined || body === null) return [];
    if (!Array.isArray(body)) {
      throw new RetryableError(`GET ${pathOf(http, url)} returned a body that is not a JSON array`, 'transient');
    }
    return body.map((row: unknown) => parseChangeFeedRow(row));
  };

  return {
    version,

    async latest() {
      const url = `${version}/changefeed/latest`;
      const { status, body } = await get(http, url, { includeMetadata: false }, requests, retry);
      if (status === 204 || status === 404) return undefined;
      if (status !== 200) throw failureFor(pathOf(http, url), status);
      if (body === undefined || body === null) return undefined;
      const row = parseChangeFeedRow(body);
      // An empty feed answers {"sequence":0} (and nothing else) rather than 404.
      if (isBadRow(row) && (row.sequence === undefined || row.sequence === 0)) return undefined;
      return row;
    },

    readV1(afterSequence, limit) {
      return readPage('v1/changefeed', { offset: afterSequence, limit });
    },

    readV2(startTime, offset, limit, endTime) {
      return readPage('v2/changefeed', { startTime, offset, limit, ...(endTime ? { endTime } : {}) });
    },
  };
}
