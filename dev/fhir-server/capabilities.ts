import type { CapabilityStatement, ResourceType } from '@medplum/fhirtypes';
import type { FhirServerProfile } from './profiles.js';

const RESOURCE_INTERACTIONS = ['read', 'vread', 'search-type', 'create', 'update', 'delete'] as const;

/** What this server supports; resource types are those the product reads and writes. */
export function capabilityStatement(baseUrl: string, profile: FhirServerProfile): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2024-01-01',
    kind: 'instance',
    software: { name: profile.software },
    implementation: { description: 'Local development FHIR R4 server', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: (['Patient', 'Endpoint', 'ImagingStudy', 'Observation'] satisfies ResourceType[]).map((type) => ({
          type,
          interaction: RESOURCE_INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: false,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'not-supported',
          searchParam: [
            { name: '_id', type: 'token' },
            { name: 'identifier', type: 'token' },
          ],
        })),
      },
    ],
  };
}
