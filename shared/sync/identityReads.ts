import type { Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { searchAll, type SearchingClient, type SearchRequest } from '../fhir/searchBatch.js';
import {
  endpointSearchParams,
  imagingStudySearchParams,
  isDicomWebEndpoint,
  patientSearchParams,
  type MappingOptions,
  type PatientIdentifier,
} from '../mapping/index.js';
import { isImagingStudyOf } from '../mapping/imagingStudy.js';
import { hasExactIdentifier, isOwnedBy, ownSource } from '../mapping/ownership.js';
import { toEndpoint } from '../mapping/endpoint.js';
import { sortCopies, type IdentityCopies } from './duplicates.js';

/**
 * The FHIR reads of a study's identities. A search result is used only when it carries the identity exactly
 * (system and value, case-sensitive): servers match tokens case-insensitively, or mishandle `\|` escapes, and
 * what they return beyond the exact identity is some other patient's or study's resource, never ours to write.
 */

/** The searches that find one identity, and which of their results really are it. */
interface IdentityQuery<T extends Resource> {
  resourceType: T['resourceType'];
  searches: Record<string, string>[];
  isMatch: (resource: T) => boolean;
  isOurs: (copy: T) => boolean;
}

function requestsOf<T extends Resource>(query: IdentityQuery<T>): SearchRequest[] {
  return query.searches.map((params) => ({ resourceType: query.resourceType, params }));
}

function sortResults<T extends Resource>(query: IdentityQuery<T>, results: Resource[][]): ReadCopies<T> {
  const byId = new Map<string, T>();
  let lookalikes = 0;
  for (const found of results.flat() as T[]) {
    if (query.isMatch(found)) byId.set(found.id ?? '', found);
    else lookalikes++;
  }
  return { ...sortCopies([...byId.values()], query.isOurs), searchIsLoose: lookalikes > 0 };
}

/** Runs the searches of several identities together (one batch request when the client can) and sorts each. */
async function readIdentities<A extends Resource, B extends Resource>(
  fhir: SearchingClient,
  first: IdentityQuery<A>,
  second: IdentityQuery<B>,
): Promise<[ReadCopies<A>, ReadCopies<B>]> {
  const results = await searchAll(fhir, [...requestsOf(first), ...requestsOf(second)]);
  const firstCount = first.searches.length;
  return [sortResults(first, results.slice(0, firstCount)), sortResults(second, results.slice(firstCount))];
}

async function readIdentity<T extends Resource>(
  fhir: SearchingClient,
  query: IdentityQuery<T>,
): Promise<ReadCopies<T>> {
  return sortResults(query, await searchAll(fhir, requestsOf(query)));
}

/**
 * Copies of one identity, plus whether the server's search also returned resources that are not it: then its
 * conditional create (same search) would match one of those and write nothing, so the create must be plain.
 */
export type ReadCopies<T extends Resource> = IdentityCopies<T> & { searchIsLoose: boolean };

function studyQuery(
  study: string,
  partition: string | undefined,
  mapping: MappingOptions,
): IdentityQuery<ImagingStudy> {
  const source = ownSource(mapping.endpoint, partition);
  return {
    resourceType: 'ImagingStudy',
    searches: [imagingStudySearchParams(study, partition)],
    isMatch: (found) => isImagingStudyOf(found, study, partition),
    isOurs: (copy) => isOwnedBy(copy, source),
  };
}

function endpointQuery(mapping: MappingOptions): IdentityQuery<Endpoint> {
  const [address] = toEndpoint(mapping).identifier ?? [];
  return {
    resourceType: 'Endpoint',
    searches: endpointSearchParams(mapping),
    isMatch: (found) => isDicomWebEndpoint(found, mapping),
    isOurs: (copy) => hasExactIdentifier(copy.identifier, address?.system ?? '', mapping.endpoint),
  };
}

function patientQuery(identity: PatientIdentifier, mapping: MappingOptions): IdentityQuery<Patient> {
  return {
    resourceType: 'Patient',
    searches: [patientSearchParams(identity)],
    isMatch: (found) => hasExactIdentifier(found.identifier, identity.system, identity.value),
    isOurs: (copy) => isOwnedBy(copy, mapping.endpoint),
  };
}

/** The study's ImagingStudy copies: identity `<system>|urn:oid:<uid>` (partition-aware); ours by meta.source. */
export function readStudyCopies(
  fhir: SearchingClient,
  study: string,
  partition: string | undefined,
  mapping: MappingOptions,
): Promise<ReadCopies<ImagingStudy>> {
  return readIdentity(fhir, studyQuery(study, partition, mapping));
}

/**
 * This DICOM server's Endpoint copies (DICOM Cast's name forms included; see isDicomWebEndpoint). Ours are
 * the ones carrying the address identifier only this product writes; DICOM Cast's or a person's are not.
 */
export function readEndpointCopies(fhir: SearchingClient, mapping: MappingOptions): Promise<ReadCopies<Endpoint>> {
  return readIdentity(fhir, endpointQuery(mapping));
}

/** The Patient copies for an identity; ours are those whose meta.source is this DICOM server. */
export function readPatientCopies(
  fhir: SearchingClient,
  identity: PatientIdentifier,
  mapping: MappingOptions,
): Promise<ReadCopies<Patient>> {
  return readIdentity(fhir, patientQuery(identity, mapping));
}

/**
 * The writer's first read, in one request: the study's ImagingStudy copies and this DICOM server's Endpoint
 * copies (readStudyCopies and readEndpointCopies in one batch of GETs).
 */
export async function readStudyAndEndpointCopies(
  fhir: SearchingClient,
  study: string,
  partition: string | undefined,
  mapping: MappingOptions,
): Promise<{ study: ReadCopies<ImagingStudy>; endpoint: ReadCopies<Endpoint> }> {
  const [studyCopies, endpointCopies] = await readIdentities(
    fhir,
    studyQuery(study, partition, mapping),
    endpointQuery(mapping),
  );
  return { study: studyCopies, endpoint: endpointCopies };
}

/**
 * Looking again after creating (a conditional create is not atomic on every server): the study's ImagingStudy
 * copies when it was created, the Patient copies of the identity when that was created; one request for both.
 */
export async function readCreatedCopies(
  fhir: SearchingClient,
  study: string,
  partition: string | undefined,
  createdPatient: PatientIdentifier | undefined,
  createdStudy: boolean,
  mapping: MappingOptions,
): Promise<{ study?: ReadCopies<ImagingStudy>; patient?: ReadCopies<Patient> }> {
  if (createdStudy && createdPatient) {
    const [studyCopies, patientCopies] = await readIdentities(
      fhir,
      studyQuery(study, partition, mapping),
      patientQuery(createdPatient, mapping),
    );
    return { study: studyCopies, patient: patientCopies };
  }
  if (createdStudy) return { study: await readStudyCopies(fhir, study, partition, mapping) };
  if (createdPatient) return { patient: await readPatientCopies(fhir, createdPatient, mapping) };
  return {};
}
