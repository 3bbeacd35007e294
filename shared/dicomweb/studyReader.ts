import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { NonRetryableError, RetryableError, type ErrorLocation } from '../errors/errors.js';
import { drain, ResponseTooLargeError, ServerRequestError, type ResponseLimit } from '../http/serverHttpClient.js';
import { StrictUtf8StreamDecoder } from '../http/strictJson.js';
import { sendWithRetries, type RetryPolicy } from '../http/transientRetry.js';
import type { RequestObserver } from '../telemetry/telemetry.js';
import { dicomWebPath, type DicomWebApiVersion } from './apiVersion.js';
import type { DicomJsonDataset } from './dicomJson.js';
import { JsonArraySplitter } from './jsonArrayStream.js';
import { errorMessage } from '../lib/errorDetails.js';
import { omitUndefined } from '../lib/omitUndefined.js';

/** Reads what the DICOM server holds *now* for one study: what the writer needs. */
export interface StudyReader {
  /**
   * Every current instance's metadata, handed over one at a time as the response arrives, so a large study's metadata
   * is never held whole; resolves to the count, 0 when the study does not exist (any more). With `series`, only that
   * series' instances (WADO-RS series metadata). Each item's shape is the caller's to check (dicomJsonShape.ts): one
   * that is not even an object costs only that instance.
   */
  forEachStudyInstance(
    studyUid: string,
    partition: string | undefined,
    onInstance: (dataset: DicomJsonDataset) => void,
    series?: string,
  ): Promise<number>;
}

/** The same read collected into an array, for tools and tests that want the whole study at once. */
export interface WholeStudyReader extends StudyReader {
  /** Every current instance's metadata; an empty array when the study does not exist (any more). */
  readStudyMetadata(studyUid: string, partition?: string): Promise<DicomJsonDataset[]>;
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

/** Returns for "gone" (404, 204); throws for any other status but 200: to be retried, or recorded. */
function assertGone(status: number, path: string, location: ErrorLocation): void {
  if (status === 404 || status === 204) return;
  if (status === 429 || status >= 500 || status === 401) {
    throw new RetryableError(`DICOM GET ${path} answered ${status}`, 'transient', location);
  }
  throw new NonRetryableError(`DICOM GET ${path} answered ${status}`, 'dicom-not-found', location);
}

/**
 * The one read of metadata, streamed. The whole-array read (readStudyMetadata) collects what this hands over, so
 * both keep the same rules: the request, its retries, the byte cap, the deadline, the error wording.
 */
export function createStudyReader(
  http: AxiosInstance,
  apiVersion: DicomWebApiVersion,
  requests?: RequestObserver,
  options: StudyReaderOptions = {},
): WholeStudyReader {
  const stream = createMetadataStreamReader(http, apiVersion, requests, options);
  return {
    forEachStudyInstance(studyUid, partition, onInstance, series) {
      const scope = { study: studyUid, ...omitUndefined({ partition, series }) };
      return stream.forEachInstance(scope, onInstance);
    },
    async readStudyMetadata(studyUid, partition) {
      const instances: DicomJsonDataset[] = [];
      await stream.forEachInstance({ study: studyUid, ...omitUndefined({ partition }) }, (dataset) => {
        instances.push(dataset);
      });
      return instances;
    },
  };
}

export function createMetadataStreamReader(
  http: AxiosInstance,
  apiVersion: DicomWebApiVersion,
  requests?: RequestObserver,
  options: StudyReaderOptions = {},
): MetadataStreamReader {
  const policy = options.retry ?? { fallbackBudgetMs: 120_000 };
  const responseLimit: ResponseLimit = {
    maxBytes: options.maxMetadataBytes ?? defaultMaxMetadataBytes,
    setting: 'DicomWeb:MaxMetadataBytes',
    category: 'bad-dicom-data',
  };
  return {
    async forEachInstance(scope, onInstance) {
      const path = metadataPath(apiVersion, scope);
      const read = new MetadataRead(`DICOM GET ${path}`, locationOf(scope), responseLimit);
      const get = () =>
        http.get<Readable>(path, {
          headers: { Accept: 'application/dicom+json' },
          responseType: 'stream',
          responseLimit,
        });
      const observed = () =>
        requests ? requests.observe('dicom', 'metadata', get, { ofResult: (result) => result.status }) : get();
      let response: AxiosResponse<Readable>;
      try {
        response = await sendWithRetries(() => read.attempt(observed, onInstance), policy);
      } catch (error) {
        throw read.located(error);
      }
      if (response.status === 200) return read.instances;
      drain(response.data);
      assertGone(response.status, path, read.location);
      return 0;
    },
  };
}

/** One metadata read: its body split into instances, its failures located and worded alike. */
class MetadataRead {
  /** Instances handed over by the attempt that read the whole body. */
  instances = 0;
  /** The last attempt got its answer and was reading the body (when it failed). */
  private readingBody = false;

  constructor(
    /** `DICOM GET <path>`: names the read in every error. */
    private readonly request: string,
    readonly location: ErrorLocation,
    private readonly limit: ResponseLimit,
  ) {}

  /**
   * One attempt: the request and, when it is answered 200, its whole body. A transient failure of either is left to
   * sendWithRetries to repeat as long as no instance was handed over (a repeat would hand it over twice).
   */
  async attempt(
    send: () => Promise<AxiosResponse<Readable>>,
    onInstance: (dataset: DicomJsonDataset) => void,
  ): Promise<AxiosResponse<Readable>> {
    this.readingBody = false;
    const response = await send().catch((error: unknown) => {
      throw this.requestFailure(error);
    });
    if (response.status !== 200) return response;
    this.readingBody = true;
    this.instances = await this.instancesOf(response.data, onInstance);
    return response;
  }

  /**
   * Hands each instance of `body` to `onInstance` as it arrives; the count. An error `onInstance` throws is the
   * caller's and goes out unchanged; a transient failure before the first instance stays a ServerRequestError, so
   * the request may be repeated.
   */
  private async instancesOf(body: Readable, onInstance: (dataset: DicomJsonDataset) => void): Promise<number> {
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
      this.request,
      this.location,
    );
    const decoder = new StrictUtf8StreamDecoder({ request: this.request, location: this.location });
    try {
      for await (const chunk of body) splitter.push(decoder.push(chunk as Buffer));
      splitter.push(decoder.end());
    } catch (error) {
      body.destroy();
      if (error === callerError) throw error;
      if (error instanceof ResponseTooLargeError) throw this.tooLarge();
      if (error instanceof NonRetryableError) throw error;
      if (error instanceof ServerRequestError && splitter.elements === 0) throw error;
      throw this.transient(error);
    }
    splitter.end();
    return splitter.elements;
  }

  /** What a request that got no answer fails with: a ServerRequestError as is, for sendWithRetries to retry. */
  private requestFailure(error: unknown): unknown {
    if (error instanceof ServerRequestError) return error;
    // An auth failure keeps its kind (a refused client is configuration, not a network error) and its cause.
    if (error instanceof NonRetryableError) {
      return new NonRetryableError(`${this.request}: ${errorMessage(error)}`, error.category, this.location, {
        cause: error,
      });
    }
    return this.transient(error);
  }

  /** The error a read ends with: a transient failure whose retries are spent is located here, the rest already is. */
  located(error: unknown): unknown {
    return error instanceof ServerRequestError ? this.transient(error) : error;
  }

  /** Located and retryable; axios' own error is never kept as the cause (its config holds the Authorization header). */
  private transient(error: unknown): RetryableError {
    const when = this.readingBody ? ' while reading' : '';
    const cause = axios.isAxiosError(error) ? {} : { cause: error };
    return new RetryableError(
      `${this.request} failed${when}: ${errorMessage(error)}`,
      'transient',
      this.location,
      cause,
    );
  }

  private tooLarge(): NonRetryableError {
    const { maxBytes, setting } = this.limit;
    return new NonRetryableError(
      `${this.request} failed: the response body exceeds ${maxBytes} bytes (${setting}); it was not read further`,
      'bad-dicom-data',
      { ...this.location, setting },
    );
  }
}
