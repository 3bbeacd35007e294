import { conditionalCreate, transactionOf } from '../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../shared/fhir/fhirClient.js';
import { endpointCreateCondition, toEndpoint, type MappingOptions } from '../../shared/mapping/index.js';
import { localFullUrl } from '../../shared/mapping/transaction/plan.js';

/**
 * The DICOM server's Endpoint, created as the writer creates it the first time it sees none (then it syncs again):
 * tests that start after that see each sync as one pass over a known Endpoint.
 */
export async function createOurEndpoint(fhir: FhirClient, mapping: MappingOptions): Promise<void> {
  await fhir.transaction(
    transactionOf([
      conditionalCreate(
        toEndpoint(mapping),
        localFullUrl('Endpoint', mapping.endpoint),
        endpointCreateCondition(mapping),
      ),
    ]),
  );
}
