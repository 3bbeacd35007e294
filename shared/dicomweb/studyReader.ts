import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { NonRetryableError, RetryableError, type ErrorLocation } from '../errors/errors.js';
import { ResponseTooLargeError, type ResponseLimit } from '../http/serverHttpClient.js';
import { parseStrictJson, StrictUtf8StreamDecoder } from '../http/strictJson.js';
import { sendWithRetries, type RetryPolicy } from '../http/transientRetry.js';
import type { RequestObserver } from '../telemetry/telemetry.js';
import { dicomWebPath, type DicomWebApiVersion } from './apiVersion.js';
import type { DicomJsonDataset } from './dicomJson.js';
import { JsonArraySplitter } from './jsonArrayStream.js';
import { errorMessage } from '../lib/errorDetails.js';
import { omitUndefined } from '../lib/omitUndefined.js';

/** Reads what the DICOM server holds *now* for one study. */
export interface StudyReader {
  /**
   * Every current instance's metadata; an empty array when the study does not exist (any more). Each item's shape
   * is the caller's to check (dicomJsonShape.ts): one that is not even an object costs only that instance.
   */
  readStudyMetadata(studyUid: string, partition?: string): Promise<DicomJsonDataset[]>;
  /**
   * The same instances handed over one at a time as the response arrives (the writer uses it when present, so a
   * large study's metadata is never held whole); resolves to the count, 0 when the study does not exist (any more).
   * With `series`, only that series' instances (WADO-RS series metadata).
   */
  forEachStudyInstance?(
    studyUid: string,
    partition: string | undefined,
    onInstance: (dataset: DicomJsonDataset) => void,
    series?: string,
  ): Promise<number>;
}

/** A study, or one series of it, whose metadata is read. */
export interface MetadataScope {
  study: string;
  /** Only this series (WADO-RS `/studies/{study}/series/{series}/metadata`). */
  series?: string;
  partition?: string;
}

/**
 * Reads metadata one instance at a time as the response arrives, so a large study's metadata is never held
 * whole; reads one series when asked, so a change to one series does not read the others.
 */
export interface MetadataStreamReader {
  /**
   * Calls `onInstance` for each current instance of the scope, in the server's order; resolves to the count
   * (0 when the study or series does not exist any more). An item that is not a JSON object is handed over as it
   * is (its shape is the caller's to check, as with readStudyMetadata); a body that is not a JSON array, or over
   * DicomWeb:MaxMetadataBytes, fails the whole read, located.
   */
  forEachInstance(scope: MetadataScope, onInstance: (dataset: DicomJsonDataset) => void): Promise<number>;
}

export const defaultPartition = 'Microsoft.Default';

/** The path prefix of a study: partitioned routes only for a named, non-default partition. */
export function studyPath(apiVersion: DicomWebApiVersion, studyUid: string, partition?: string): string {
  const encoded = encodeURIComponent(studyUid);
  if (partition && partition !== defaultPartition) {
    return dicomWebPath(apiVersion, `partitions/${encodeURIComponent(partition)}/studies/${encoded}`);
  }
  return dicomWebPath(apiVersion, `studies/${encoded}`);
}

function metadataPath(apiVersion: DicomWebApiVersion, scope: MetadataScope): string {
  const series = scope.series === undefined ? '' : `/series/${encodeURIComponent(scope.series)}`;
  return `${studyPath(apiVersion, scope.study, scope.partition)}${series}/metadata`;
}

function locationOf(scope: MetadataScope): ErrorLocation {
  return { study: scope.study, ...(scope.series !== undefined ? { series: scope.series } : {}) };
}

export interface StudyReaderOptions {
  /** Retries of transient failures (429, 5xx, resets, timeouts) within the invocation's budget. */
  retry?: RetryPolicy;
  /** Largest metadata response read (DicomWeb:MaxMetadataBytes); a bigger study is a located failure. */
  maxMetadataBytes?: number;
}

export const defaultMaxMetadataBytes = 64 * 1024 * 1024;

interface MetadataRequest {
  policy: RetryPolicy;
  responseLimit: ResponseLimit;
  requests: RequestObserver | undefined;
}

function metadataRequest(requests: RequestObserver | undefined, options: StudyReaderOptions): MetadataRequest {
  return {
    policy: options.retry ?? { fallbackBudgetMs: 120_000 },
    responseLimit: {
      maxBytes: options.maxMetadataBytes ?? defaultMaxMetadataBytes,
      setting: 'DicomWeb:MaxMetadataBytes',
      category: 'bad-dicom-data',
    },
    requests,
  };
}

/**
 * GET with the request observed and transient failures retried; a request that got no answer is transient.
 * The body comes as bytes or a byte stream, decoded strictly by the caller (axios would turn bytes that are not
 * UTF-8 into U+FFFD without a word).
 */
async function getMetadata<T>(
  http: AxiosInstance,
  path: string,
  responseType: 'arraybuffer' | 'stream',
  location: ErrorLocation,
  { policy, responseLimit, requests }: MetadataRequest,
): Promise<AxiosResponse<T>> {
  const call = () => http.get<T>(path, { headers: { Accept: 'application/dicom+json' }, responseType, responseLimit });
  const observed = () =>
    requests ? requests.observe('dicom', 'metadata', call, { ofResult: (result) => result.status }) : call();
  try {
    return await sendWithRetries(observed, policy);
  } catch (error) {
    const reason = errorMessage(error);
    if (error instanceof ResponseTooLargeError) {
      throw new NonRetryableError(reason, 'bad-dicom-data', { ...location, setting: responseLimit.setting });
    }
    // An auth failure keeps its kind (a refused client is configuration, not a network error) and its cause.
    if (error instanceof NonRetryableError) {
      throw new NonRetryableError(`DICOM GET ${path}: ${reason}`, error.category, location, { cause: error });
    }
    throw new RetryableError(`DICOM GET ${path} failed: ${reason}`, 'transient', location, { cause: error });
  }
}

/** False for "gone" (404, 204); throws for what must be retried or recorded; true for a 200. */
function hasMetadata(status: number, path: string, location: ErrorLocation): boolean {
  if (status === 404 || status === 204) return false;
  if (status === 429 || status >= 500 || status === 401) {
    throw new RetryableError(`DICOM GET ${path} answered ${status}`, 'transient', location);
  }
  if (status !== 200) throw new NonRetryableError(`DICOM GET ${path} answered ${status}`, 'dicom-not-found', location);
  return true;
}

export function createStudyReader(
  http: AxiosInstance,
  apiVersion: DicomWebApiVersion,
  requests?: RequestObserver,
  options: StudyReaderOptions = {},
): StudyReader {
  const request = metadataRequest(requests, options);
  const stream = createMetadataStreamReader(http, apiVersion, requests, options);
  return {
    forEachStudyInstance(studyUid, partition, onInstance, series) {
      const scope = { study: studyUid, ...omitUndefined({ partition, series }) };
      return stream.forEachInstance(scope, onInstance);
    },
    async readStudyMetadata(studyUid, partition) {
      const scope = { study: studyUid, ...(partition !== undefined ? { partition } : {}) };
      const path = metadataPath(apiVersion, scope);
      const location = locationOf(scope);
      const response = await getMetadata<Uint8Array>(http, path, 'arraybuffer', location, request);
      if (!hasMetadata(response.status, path, location)) return [];
      const body = parseStrictJson(response.data, { request: `DICOM GET ${path}`, location });
      // Each item's shape is checked by the writer (dicomJsonShape.ts), so one malformed instance costs only itself.
      if (!Array.isArray(body)) {
        throw new NonRetryableError(
          `DICOM GET ${path} returned metadata that is not an array of DICOM JSON objects`,
          'bad-dicom-data',
          location,
        );
      }
      return body as DicomJsonDataset[];
    },
  };
}

export function createMetadataStreamReader(
  http: AxiosInstance,
  apiVersion: DicomWebApiVersion,
  requests?: RequestObserver,
  options: StudyReaderOptions = {},
): MetadataStreamReader {
  const request = metadataRequest(requests, options);
  return {
    async forEachInstance(scope, onInstance) {
      const path = metadataPath(apiVersion, scope);
      const location = locationOf(scope);
      const response = await getMetadata<Readable>(http, path, 'stream', location, request);
      const body = response.data;
      if (!hasMetadata(response.status, path, location)) {
        body.resume();
        return 0;
      }
      // What the caller's callback throws is the caller's, not a read fault: it goes out unchanged.
      let callerError: unknown;
      const splitter = new JsonArraySplitter(
        (element) => {
          try {
            onInstance(element as DicomJsonDataset);
          } catch (error) {
            callerError = error;
            throw error;
          }
        },
        `DICOM GET ${path}`,
        location,
      );
      const decoder = new StrictUtf8StreamDecoder({ request: `DICOM GET ${path}`, location });
      // axios' own cap on a stream depends on its version and fails as a network error: counted here.
      const { maxBytes, setting } = request.responseLimit;
      const tooLarge = () =>
        new NonRetryableError(
          `DICOM GET ${path} failed: the response body exceeds ${maxBytes} bytes (${setting}); it was not read further`,
          'bad-dicom-data',
          { ...location, setting },
        );
      let bytes = 0;
      try {
        for await (const chunk of body) {
          bytes += (chunk as Buffer).length;
          if (bytes > maxBytes) throw tooLarge();
          splitter.push(decoder.push(chunk as Buffer));
        }
        splitter.push(decoder.end());
      } catch (error) {
        body.destroy();
        if (error === callerError || error instanceof NonRetryableError) throw error;
        const reason = errorMessage(error);
        if (/maxContentLength/.test(reason)) throw tooLarge();
        throw new RetryableError(`DICOM GET ${path} failed while reading: ${reason}`, 'transient', location);
      }
      splitter.end();
      return splitter.elements;
    },
  };
}
