import type { Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir/fhirClient.js';
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

async function exactMatches<T extends Resource>(
  fhir: FhirClient,
  resourceType: T['resourceType'],
  searches: Record<string, string>[],
  isMatch: (resource: T) => boolean,
): Promise<T[]> {
  const byId = new Map<string, T>();
  for (const params of searches) {
    for (const found of await fhir.search<T>(resourceType, params)) {
      if (isMatch(found)) byId.set(found.id ?? '', found);
    }
  }
  return [...byId.values()];
}

/** The study's ImagingStudy copies: identity `<system>|urn:oid:<uid>` (partition-aware); ours by meta.source. */
export async function readStudyCopies(
  fhir: FhirClient,
  study: string,
  partition: string | undefined,
  mapping: MappingOptions,
): Promise<IdentityCopies<ImagingStudy>> {
  const matches = await exactMatches<ImagingStudy>(
    fhir,
    'ImagingStudy',
    [imagingStudySearchParams(study, partition)],
    (found) => isImagingStudyOf(found, study, partition),
  );
  const source = ownSource(mapping.endpoint, partition);
  return sortCopies(matches, (copy) => isOwnedBy(copy, source));
}

/**
 * This DICOM server's Endpoint copies (DICOM Cast's name forms included; see isDicomWebEndpoint). Ours are
 * the ones carrying the address identifier only this product writes; DICOM Cast's or a person's are not.
 */
export async function readEndpointCopies(fhir: FhirClient, mapping: MappingOptions): Promise<IdentityCopies<Endpoint>> {
  const matches = await exactMatches<Endpoint>(fhir, 'Endpoint', endpointSearchParams(mapping), (found) =>
    isDicomWebEndpoint(found, mapping),
  );
  const [address] = toEndpoint(mapping).identifier ?? [];
  return sortCopies(matches, (copy) => hasExactIdentifier(copy.identifier, address?.system ?? '', mapping.endpoint));
}

/** The Patient copies for an identity; ours are those whose meta.source is this DICOM server. */
export async function readPatientCopies(
  fhir: FhirClient,
  identity: PatientIdentifier,
  mapping: MappingOptions,
): Promise<IdentityCopies<Patient>> {
  const matches = await exactMatches<Patient>(fhir, 'Patient', [patientSearchParams(identity)], (found) =>
    hasExactIdentifier(found.identifier, identity.system, identity.value),
  );
  return sortCopies(matches, (copy) => isOwnedBy(copy, mapping.endpoint));
}
