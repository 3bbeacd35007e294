// What the writer reads from FHIR before DICOM, in one request: a FHIR `batch` of GETs (the ImagingStudy with its
// subject Patient through `_include`, and the Endpoint), instead of one search each. A batch of GETs reads, it does
// not write, so each entry answers on its own; every one must answer 200 for the state to be complete.
import type { Bundle, BundleEntry, Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { NonRetryableError, RetryableError } from '../errors/errors.js';
import {
  endpointSearchParams,
  imagingStudySearchParams,
  isDicomWebEndpoint,
  type MappingOptions,
} from '../mapping/index.js';
import { describeOutcome } from './fhirClient.js';

/** The study's state in FHIR as one batch read it. */
export interface StudyStateRead {
  imagingStudy?: ImagingStudy;
  /** The existing ImagingStudy's subject, when it is a Patient the server returned with it. */
  subject?: Patient;
  endpoint?: Endpoint;
}

/** Sends a Bundle to the FHIR base URL and resolves to the response Bundle (a batch-response here). */
export type PostBundle = (bundle: Bundle) => Promise<Bundle>;

function searchUrl(resourceType: string, params: Record<string, string>): string {
  return `${resourceType}?${new URLSearchParams(params).toString()}`;
}

export interface StudyStateReadOptions {
  /**
   * Also read the ImagingStudy's subject (`_include=ImagingStudy:subject`), so a study whose data still names the
   * same patient needs no Patient search: 2 requests a study in steady state instead of 3. Off by default: the
   * local FHIR server answers `_include` with a full scan (~130 ms at 50 studies, against 4 ms without).
   */
  includeSubject?: boolean;
}

/** The batch: entry 0 the ImagingStudy (+ its subject), then one Endpoint search per name DICOM Cast may have used. */
export function studyStateBatch(study: string, mapping: MappingOptions, options: StudyStateReadOptions = {}): Bundle {
  const get = (url: string): BundleEntry => ({ request: { method: 'GET', url } });
  const include: Record<string, string> = options.includeSubject ? { _include: 'ImagingStudy:subject' } : {};
  return {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      get(searchUrl('ImagingStudy', { ...imagingStudySearchParams(study), ...include })),
      ...endpointSearchParams(mapping).map((params) => get(searchUrl('Endpoint', params))),
    ],
  };
}

function searchResults(response: Bundle, index: number, what: string, study: string): Resource[] {
  const entry = response.entry?.[index];
  const status = entry?.response?.status ?? '';
  if (!status.startsWith('200')) {
    const code = Number.parseInt(status, 10);
    const detail = describeOutcome(entry?.response?.outcome);
    const message = `FHIR batch read of ${what} answered ${status || 'nothing'}${detail ? `: ${detail}` : ''}`;
    if (!status || code === 401 || code === 429 || code >= 500) {
      throw new RetryableError(message, 'transient', { study });
    }
    throw new NonRetryableError(message, 'fhir-rejected', { study });
  }
  const searchset = entry?.resource as Bundle | undefined;
  if (searchset?.link?.some((link) => link.relation === 'next')) {
    throw new NonRetryableError(`FHIR batch read of ${what} has more than one page of matches`, 'ambiguous-identity', {
      study,
    });
  }
  return (searchset?.entry ?? []).flatMap((found) => (found.resource ? [found.resource] : []));
}

function ambiguous(found: Resource[], what: string, study: string): NonRetryableError {
  const ids = found.map((resource) => resource.id).join(', ');
  return new NonRetryableError(
    `${found.length} ${what} resources match (${ids}); resolve the duplicates by hand`,
    'ambiguous-identity',
    {
      study,
    },
  );
}

/** Reads the batch response; the same ambiguity rules as one search each (more than one match: record it). */
export function parseStudyStateBatch(response: Bundle, study: string, mapping: MappingOptions): StudyStateRead {
  const state: StudyStateRead = {};
  const studyResults = searchResults(response, 0, 'ImagingStudy', study);
  const imagingStudies = studyResults.filter(
    (resource): resource is ImagingStudy => resource.resourceType === 'ImagingStudy',
  );
  if (imagingStudies.length > 1) throw ambiguous(imagingStudies, 'ImagingStudy', study);
  const imagingStudy = imagingStudies[0];
  if (imagingStudy) {
    state.imagingStudy = imagingStudy;
    const subject = studyResults.find(
      (resource): resource is Patient =>
        resource.resourceType === 'Patient' && imagingStudy.subject?.reference === `Patient/${resource.id ?? ''}`,
    );
    if (subject) state.subject = subject;
  }
  // Like the writer's search: the first name with a match wins; a name search matches by prefix, so keep ours only.
  const names = endpointSearchParams(mapping).length;
  for (let index = 1; index <= names; index++) {
    const found = searchResults(response, index, 'Endpoint', study).filter(
      (resource): resource is Endpoint => resource.resourceType === 'Endpoint' && isDicomWebEndpoint(resource, mapping),
    );
    if (found.length > 1) throw ambiguous(found, 'Endpoint', study);
    if (found[0]) {
      state.endpoint = found[0];
      break;
    }
  }
  return state;
}

/** One request: the study's ImagingStudy (with its subject Patient when asked) and the Endpoint. */
export async function readStudyState(
  post: PostBundle,
  study: string,
  mapping: MappingOptions,
  options: StudyStateReadOptions = {},
): Promise<StudyStateRead> {
  const response = await post(studyStateBatch(study, mapping, options));
  if (response.resourceType !== 'Bundle' || response.type !== 'batch-response') {
    throw new RetryableError(`FHIR batch read answered something other than a batch-response`, 'transient', { study });
  }
  return parseStudyStateBatch(response, study, mapping);
}
