import type { Patient } from '@medplum/fhirtypes';
import type { SearchRequest } from '../../shared/fhir/searchBatch.js';

/** A Patient with identifier `urn:test|<value>` and family name `family`. */
export const patientWithIdentifier = (value: string, family: string): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:test', value }],
  name: [{ family }],
});

/** The search for the Patients of `patientWithIdentifier(value, …)`. */
export const searchByIdentifier = (value: string): SearchRequest => ({
  resourceType: 'Patient',
  params: { identifier: `urn:test|${value}` },
});

/** The family names each search found, sorted within a search. */
export const familiesFound = (found: unknown[][]) =>
  found.map((matches) => (matches as Patient[]).map((p) => p.name?.[0]?.family ?? '').sort());
