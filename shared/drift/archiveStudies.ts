import type { AxiosInstance } from 'axios';
import { dicomWebPath, type DicomWebApiVersion } from '../dicomweb/apiVersion.js';
import { getString, getValues, Tag, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { RetryableError } from '../errors/errors.js';
import { patientIdentifier } from '../mapping/patient.js';
import type { MappingOptions } from '../mapping/types.js';
import type { ArchiveStudy } from './studyDrift.js';
import { errorMessage } from '../lib/errorDetails.js';

const numberOfStudyRelatedInstances = '00201208';

/** One QIDO-RS GET returning DICOM JSON datasets (204 or an empty body: none). */
export async function qido(
  http: AxiosInstance,
  version: DicomWebApiVersion,
  path: string,
  params: Record<string, string | number | string[]>,
): Promise<DicomJsonDataset[]> {
  const fullPath = dicomWebPath(version, path);
  let response;
  try {
    response = await http.get<unknown>(fullPath, {
      params,
      paramsSerializer: { indexes: null },
      headers: { Accept: 'application/dicom+json' },
      responseType: 'json',
    });
  } catch (error) {
    throw new RetryableError(`QIDO-RS GET ${fullPath} failed: ${errorMessage(error)}`, 'transient');
  }
  if (response.status === 204) return [];
  if (response.status !== 200) {
    const message = `QIDO-RS GET ${fullPath} answered HTTP ${response.status}`;
    throw response.status >= 500 || response.status === 429
      ? new RetryableError(message, 'transient')
      : new Error(message);
  }
  const body: unknown = typeof response.data === 'string' && response.data.trim() === '' ? [] : response.data;
  if (!Array.isArray(body)) throw new Error(`QIDO-RS GET ${fullPath} returned a body that is not a JSON array`);
  return body as DicomJsonDataset[];
}

/** An IS value: a JSON number (Orthanc) or a numeric string. */
function countOf(dataset: DicomJsonDataset, tag: string): number | undefined {
  const [value] = getValues(dataset, tag);
  const count = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  return Number.isSafeInteger(count) && count >= 0 ? count : undefined;
}

function toArchiveStudy(dataset: DicomJsonDataset, mapping: MappingOptions): ArchiveStudy | undefined {
  const study = getString(dataset, Tag.StudyInstanceUID);
  if (!study) return undefined;
  const instances = countOf(dataset, numberOfStudyRelatedInstances);
  let patient: ArchiveStudy['patient'];
  try {
    patient = patientIdentifier(dataset, mapping);
  } catch {
    patient = undefined; // no PatientID: the writer records that study as bad data; nothing to compare here
  }
  return { study, ...(instances !== undefined ? { instances } : {}), ...(patient ? { patient } : {}) };
}

export interface ArchiveStudyQuery {
  limit: number;
  offset?: number;
  /** Only these studies (a UID list: one request for many). */
  studies?: readonly string[];
  /** StudyDate on or after (DICOM date YYYYMMDD). */
  studyDateFrom?: string;
}

/** A page of studies with their instance counts and patient identity. `returned` counts every row, UID or not. */
export async function queryArchiveStudies(
  http: AxiosInstance,
  version: DicomWebApiVersion,
  mapping: MappingOptions,
  query: ArchiveStudyQuery,
): Promise<{ studies: ArchiveStudy[]; returned: number }> {
  const rows = await qido(http, version, 'studies', {
    limit: query.limit,
    ...(query.offset ? { offset: query.offset } : {}),
    includefield: ['StudyInstanceUID', 'PatientID', 'IssuerOfPatientID', numberOfStudyRelatedInstances],
    ...(query.studies ? { StudyInstanceUID: query.studies.join(',') } : {}),
    ...(query.studyDateFrom ? { StudyDate: `${query.studyDateFrom}-` } : {}),
  });
  const studies = rows.map((row) => toArchiveStudy(row, mapping)).filter((s): s is ArchiveStudy => s !== undefined);
  return { studies, returned: rows.length };
}

/** A direct query for one study: what a removal must be confirmed by (paging is not stable under deletes). */
export async function archiveStudy(
  http: AxiosInstance,
  version: DicomWebApiVersion,
  mapping: MappingOptions,
  study: string,
): Promise<ArchiveStudy | undefined> {
  const { studies } = await queryArchiveStudies(http, version, mapping, { limit: 2, studies: [study] });
  return studies.find((found) => found.study === study);
}

/** Every SOP Instance UID of a study (QIDO-RS instance level, paged). */
export async function archiveInstanceUids(
  http: AxiosInstance,
  version: DicomWebApiVersion,
  study: string,
  pageSize = 200,
): Promise<string[]> {
  const uids: string[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const rows = await qido(http, version, `studies/${encodeURIComponent(study)}/instances`, {
      limit: pageSize,
      ...(offset ? { offset } : {}),
      includefield: 'SOPInstanceUID',
    });
    for (const row of rows) {
      const sop = getString(row, Tag.SOPInstanceUID);
      if (sop) uids.push(sop);
    }
    if (rows.length < pageSize) return uids;
  }
}
