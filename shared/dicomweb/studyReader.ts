import type { AxiosInstance } from 'axios';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
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

export function createStudyReader(
  http: AxiosInstance,
  apiVersion: 'v1' | 'v2',
  requests?: RequestObserver,
): StudyReader {
  return {
    async readStudyMetadata(studyUid, partition) {
      const path = `${studyPath(apiVersion, studyUid, partition)}/metadata`;
      let response;
      const call = () =>
        http.get<unknown>(path, {
          headers: { Accept: 'application/dicom+json' },
          responseType: 'json',
        });
      try {
        response = requests
          ? await requests.observe('dicom', 'metadata', call, { ofResult: (result) => result.status })
          : await call();
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new RetryableError(`DICOM GET ${path} failed: ${reason}`, 'transient', { study: studyUid });
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
      // Each item's shape is checked by the writer (dicomJsonShape.ts), so one malformed instance costs only itself.
      if (!Array.isArray(body)) {
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
