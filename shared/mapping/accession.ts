import type { Identifier } from '@medplum/fhirtypes';

/**
 * The accession number identifier (mapping.md part A): `type` is v2-0203 `ACSN`, system and code. One test for it
 * everywhere, so an identifier another system typed `ACSN` is never taken for ours (or replaced by ours).
 */
const identifierTypeSystem = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export function accessionIdentifier(accession: string): Identifier {
  return { type: { coding: [{ system: identifierTypeSystem, code: 'ACSN' }] }, value: accession };
}

export function isAccession(identifier: Identifier): boolean {
  return (
    identifier.type?.coding?.some((coding) => coding.system === identifierTypeSystem && coding.code === 'ACSN') ?? false
  );
}

/** The value of a resource's accession number identifier, if it has one. */
export function accessionOf(resource: { identifier?: Identifier[] }): string | undefined {
  return resource.identifier?.find(isAccession)?.value;
}
