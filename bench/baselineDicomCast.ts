// The baseline: DICOM Cast's algorithm (microsoft/dicom-server, converter/dicom-cast), with this repo's mapping.
//
// DICOM Cast's ChangeFeedProcessor reads the v1 change feed with includeMetadata=true a small page at a time and
// runs FhirTransactionPipeline once per entry, one after the other: the Patient step searches the Patient by
// identifier, the Endpoint step searches the Endpoint, the ImagingStudy step searches the ImagingStudy and adds
// this one instance to it; then one transaction creates what was not found (If-None-Exist) and updates what
// changed (If-Match). No parallelism, no batching: four FHIR requests per instance, and the whole ImagingStudy
// is sent again for every instance added to it.
import type { AxiosInstance } from 'axios';
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { noAuthorization } from '../shared/auth/index.js';
import type { ChangeFeedEntry } from '../shared/dicomweb/changeFeedEntry.js';
import { isBadRow, parseChangeFeedRow, type ChangeFeedRow } from '../shared/dicomweb/changeFeedRow.js';
import { RetryableError } from '../shared/errors/errors.js';
import { createFhirClient, type FhirClient } from '../shared/fhir/fhirClient.js';
import { sameContent } from '../shared/fhir/resourceEquality.js';
import { conditionalCreate, versionedDelete, versionedUpdate } from '../shared/fhir/bundleEntries.js';
import { referenceTo } from '../shared/fhir/versions.js';
import { createServerHttpClient } from '../shared/http/serverHttpClient.js';
import {
  endpointSearchParams,
  imagingStudySearchParams,
  isDicomWebEndpoint,
  patientIdentifier,
  patientSearchParams,
  toEndpoint,
  toImagingStudy,
  toPatient,
  type MappingOptions,
} from '../shared/mapping/index.js';

export interface BaselineOptions {
  dicomUrl: string;
  fhirUrl: string;
  mapping: MappingOptions;
  /** Change-feed sequence to start after (the checkpoint). */
  afterSequence: number;
  /** Stop after this many entries. */
  maxEntries: number;
  /** Change-feed page size (DICOM Cast reads small pages; entries are still processed one by one). */
  pageSize: number;
  /** Attempts per entry when a transaction answers 409/412 (DICOM Cast's RetryableFhirTransactionPipeline). */
  maxAttempts?: number;
}

export interface BaselineResult {
  entries: number;
  transactions: number;
  skipped: number;
  conflicts: number;
  lastSequence: number;
}

/** GET v1/changefeed?offset=&limit=&includeMetadata=true, as DICOM Cast's ChangeFeedRetrieveService does. */
async function readChangeFeedPage(http: AxiosInstance, offset: number, limit: number): Promise<ChangeFeedRow[]> {
  const response = await http.get<unknown>('v1/changefeed', {
    params: { offset, limit, includeMetadata: true },
    responseType: 'json',
  });
  if (response.status === 204) return [];
  if (response.status !== 200) throw new Error(`GET v1/changefeed answered ${response.status}`);
  const body: unknown = response.data;
  if (!Array.isArray(body)) throw new Error('GET v1/changefeed returned something other than a JSON array');
  return body.map((row: unknown) => parseChangeFeedRow(row));
}

function findOne<T extends Resource>(found: T[], what: string): T | undefined {
  if (found.length > 1) throw new Error(`${found.length} ${what} resources match; the baseline expects one`);
  return found[0];
}

/** FhirTransactionPipeline.ProcessAsync for one change-feed entry; false when there was nothing to write. */
async function processEntry(entry: ChangeFeedEntry, fhir: FhirClient, mapping: MappingOptions): Promise<boolean> {
  const study = entry.studyInstanceUid;
  const entries: BundleEntry[] = [];

  if (entry.action === 'delete') {
    // ImagingStudyDeleteHandler: take the instance out of the ImagingStudy, delete the study once empty.
    const existing = findOne(
      await fhir.search<ImagingStudy>('ImagingStudy', imagingStudySearchParams(study)),
      'ImagingStudy',
    );
    if (!existing) return false;
    const { imagingStudy } = toImagingStudy(
      {
        studyUid: study,
        instances: [],
        existing,
        patientReference: existing.subject?.reference ?? '',
        endpointReference: existing.endpoint?.[0]?.reference ?? '',
        removeOnlyThese: new Set([entry.sopInstanceUid]),
      },
      mapping,
    );
    if (!imagingStudy) {
      entries.push(versionedDelete(existing));
    } else if (!sameContent(existing, imagingStudy)) {
      entries.push(versionedUpdate(imagingStudy));
    }
  } else {
    const dataset = entry.metadata;
    if (!dataset) return false; // deleted since: nothing to add

    // 1. PatientPipelineStep
    const identifier = patientIdentifier(dataset, mapping);
    const existingPatient = findOne(await fhir.search<Patient>('Patient', patientSearchParams(identifier)), 'Patient');
    // 2. EndpointPipelineStep: one search, by DICOM Cast's name and connection type.
    const endpointParams = endpointSearchParams(mapping)[0] ?? {};
    const endpoint = findOne(
      (await fhir.search<Endpoint>('Endpoint', endpointParams)).filter((candidate) =>
        isDicomWebEndpoint(candidate, mapping),
      ),
      'Endpoint',
    );
    // 3. ImagingStudyPipelineStep
    const existingStudy = findOne(
      await fhir.search<ImagingStudy>('ImagingStudy', imagingStudySearchParams(study)),
      'ImagingStudy',
    );

    const { patient } = toPatient(dataset, existingPatient, mapping, {
      applyDemographics: !existingPatient || entry.action === 'update',
    });
    const patientReference = existingPatient ? referenceTo(existingPatient) : `urn:uuid:${randomUUID()}`;
    if (!existingPatient) {
      entries.push(conditionalCreate(patient, patientReference, patientSearchParams(identifier)));
    } else if (!sameContent(existingPatient, patient)) {
      entries.push(versionedUpdate(patient));
    }
    const endpointReference = endpoint ? referenceTo(endpoint) : `urn:uuid:${randomUUID()}`;
    if (!endpoint) entries.push(conditionalCreate(toEndpoint(mapping), endpointReference, endpointParams));

    // This instance added to (or updated in) the existing ImagingStudy; the others are left as they are.
    const { imagingStudy } = toImagingStudy(
      {
        studyUid: study,
        instances: [{ dataset, sequence: entry.sequence }],
        ...(existingStudy ? { existing: existingStudy } : {}),
        patientReference,
        endpointReference,
        removeOnlyThese: new Set(),
      },
      mapping,
    );
    if (imagingStudy) {
      if (!existingStudy) {
        entries.push(conditionalCreate(imagingStudy, `urn:uuid:${randomUUID()}`, imagingStudySearchParams(study)));
      } else if (!sameContent(existingStudy, imagingStudy)) {
        entries.push(versionedUpdate(imagingStudy));
      }
    }
  }

  if (entries.length === 0) return false;
  const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
  await fhir.transaction(bundle);
  return true;
}

/** Runs the baseline over the change feed after `afterSequence`, one entry at a time, until `maxEntries`. */
export async function runDicomCastBaseline(options: BaselineOptions): Promise<BaselineResult> {
  const http = createServerHttpClient({ baseUrl: options.dicomUrl, authorization: noAuthorization });
  const fhir = createFhirClient({ baseUrl: options.fhirUrl, authorization: noAuthorization });
  const maxAttempts = options.maxAttempts ?? 3;
  const result: BaselineResult = {
    entries: 0,
    transactions: 0,
    skipped: 0,
    conflicts: 0,
    lastSequence: options.afterSequence,
  };
  while (result.entries < options.maxEntries) {
    const limit = Math.min(options.pageSize, options.maxEntries - result.entries);
    const page = await readChangeFeedPage(http, result.lastSequence, limit);
    if (page.length === 0) break;
    for (const row of page) {
      if (row.sequence !== undefined) result.lastSequence = Math.max(result.lastSequence, row.sequence);
      result.entries++;
      // DICOM Cast skips a create whose instance is already deleted.
      if (isBadRow(row) || (row.action === 'create' && row.state === 'deleted')) {
        result.skipped++;
        continue;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          if (await processEntry(row, fhir, options.mapping)) result.transactions++;
          else result.skipped++;
          break;
        } catch (error) {
          if (!(error instanceof RetryableError) || error.category !== 'fhir-conflict' || attempt >= maxAttempts) {
            throw error;
          }
          result.conflicts++;
        }
      }
    }
  }
  return result;
}
