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
): Promise<{ matches: T[]; lookalikes: number }> {
  const byId = new Map<string, T>();
  let lookalikes = 0;
  for (const params of searches) {
    for (const found of await fhir.search<T>(resourceType, params)) {
      if (isMatch(found)) byId.set(found.id ?? '', found);
      else lookalikes++;
    }
  }
  return { matches: [...byId.values()], lookalikes };
}

/**
 * Copies of one identity, plus whether the server's search also returned resources that are not it: then its
 * conditional create (same search) would match one of those and write nothing, so the create must be plain.
 */
export type ReadCopies<T extends Resource> = IdentityCopies<T> & { searchIsLoose: boolean };

function sorted<T extends Resource>(
  found: { matches: T[]; lookalikes: number },
  isOurs: (copy: T) => boolean,
): ReadCopies<T> {
  return { ...sortCopies(found.matches, isOurs), searchIsLoose: found.lookalikes > 0 };
}

/** The study's ImagingStudy copies: identity `<system>|urn:oid:<uid>` (partition-aware); ours by meta.source. */
export async function readStudyCopies(
  fhir: FhirClient,
  study: string,
  partition: string | undefined,
  mapping: MappingOptions,
): Promise<ReadCopies<ImagingStudy>> {
  const found = await exactMatches<ImagingStudy>(
    fhir,
    'ImagingStudy',
    [imagingStudySearchParams(study, partition)],
    (found) => isImagingStudyOf(found, study, partition),
  );
  const source = ownSource(mapping.endpoint, partition);
  return sorted(found, (copy) => isOwnedBy(copy, source));
}

/**
 * This DICOM server's Endpoint copies (DICOM Cast's name forms included; see isDicomWebEndpoint). Ours are
 * the ones carrying the address identifier only this product writes; DICOM Cast's or a person's are not.
 */
export async function readEndpointCopies(fhir: FhirClient, mapping: MappingOptions): Promise<ReadCopies<Endpoint>> {
  const found = await exactMatches<Endpoint>(fhir, 'Endpoint', endpointSearchParams(mapping), (found) =>
    isDicomWebEndpoint(found, mapping),
  );
  const [address] = toEndpoint(mapping).identifier ?? [];
  return sorted(found, (copy) => hasExactIdentifier(copy.identifier, address?.system ?? '', mapping.endpoint));
}

/** The Patient copies for an identity; ours are those whose meta.source is this DICOM server. */
export async function readPatientCopies(
  fhir: FhirClient,
  identity: PatientIdentifier,
  mapping: MappingOptions,
): Promise<ReadCopies<Patient>> {
  const found = await exactMatches<Patient>(fhir, 'Patient', [patientSearchParams(identity)], (found) =>
    hasExactIdentifier(found.identifier, identity.system, identity.value),
  );
  return sorted(found, (copy) => isOwnedBy(copy, mapping.endpoint));
}
