import type { AxiosInstance } from 'axios';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import { ResponseTooLargeError } from '../http/serverHttpClient.js';
import { sendWithRetries, type RetryPolicy } from '../http/transientRetry.js';
import type { RequestObserver } from '../telemetry/telemetry.js';
import type { DicomJsonDataset } from './dicomJson.js';

/** Reads what the DICOM server holds *now* for one study. */
export interface StudyReader {
  /** Every current instance's metadata; an empty array when the study does not exist (any more). */
  readStudyMetadata(studyUid: string, partition?: string): Promise<DicomJsonDataset[]>;
}

export const defaultPartition = 'Microsoft.Default';

/** The path prefix of a study: partitioned routes only for a named, non-default partition. */
export function studyPath(apiVersion: 'v1' | 'v2', studyUid: string, partition?: string): string {
  const encoded = encodeURIComponent(studyUid);
  if (partition && partition !== defaultPartition) {
    return `${apiVersion}/partitions/${encodeURIComponent(partition)}/studies/${encoded}`;
  }
  return `${apiVersion}/studies/${encoded}`;
}

export interface StudyReaderOptions {
  /** Retries of transient failures (429, 5xx, resets, timeouts) within the invocation's budget. */
  retry?: RetryPolicy;
  /** Largest metadata response read (DicomWeb:MaxMetadataBytes); a bigger study is a located failure. */
  maxMetadataBytes?: number;
}

export const defaultMaxMetadataBytes = 64 * 1024 * 1024;

export function createStudyReader(
  http: AxiosInstance,
  apiVersion: 'v1' | 'v2',
  requests?: RequestObserver,
  options: StudyReaderOptions = {},
): StudyReader {
  const policy = options.retry ?? { fallbackBudgetMs: 120_000 };
  const responseLimit = {
    maxBytes: options.maxMetadataBytes ?? defaultMaxMetadataBytes,
    setting: 'DicomWeb:MaxMetadataBytes',
    category: 'bad-dicom-data' as const,
  };
  return {
    async readStudyMetadata(studyUid, partition) {
      const path = `${studyPath(apiVersion, studyUid, partition)}/metadata`;
      let response;
      const call = () =>
        http.get<unknown>(path, {
          headers: { Accept: 'application/dicom+json' },
          responseType: 'json',
          responseLimit,
        });
      const observed = () =>
        requests ? requests.observe('dicom', 'metadata', call, { ofResult: (result) => result.status }) : call();
      try {
        response = await sendWithRetries(observed, policy);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (error instanceof ResponseTooLargeError) {
          throw new NonRetryableError(reason, 'bad-dicom-data', { study: studyUid, setting: responseLimit.setting });
        }
        // An auth failure keeps its kind (a refused client is configuration, not a network error) and its cause.
        if (error instanceof NonRetryableError) {
          throw new NonRetryableError(
            `DICOM GET ${path}: ${reason}`,
            error.category,
            { study: studyUid },
            { cause: error },
          );
        }
        throw new RetryableError(
          `DICOM GET ${path} failed: ${reason}`,
          'transient',
          { study: studyUid },
          { cause: error },
        );
      }
      if (response.status === 404 || response.status === 204) return [];
      if (response.status === 429 || response.status >= 500 || response.status === 401) {
        throw new RetryableError(`DICOM GET ${path} answered ${response.status}`, 'transient', { study: studyUid });
      }
      if (response.status !== 200) {
        throw new NonRetryableError(`DICOM GET ${path} answered ${response.status}`, 'dicom-not-found', {
          study: studyUid,
        });
      }
      const body: unknown = response.data;
      if (
        !Array.isArray(body) ||
        body.some((item) => item === null || typeof item !== 'object' || Array.isArray(item))
      ) {
        throw new NonRetryableError(
          `DICOM GET ${path} returned metadata that is not an array of DICOM JSON objects`,
          'bad-dicom-data',
          { study: studyUid },
        );
      }
      return body as DicomJsonDataset[];
    },
  };
}
