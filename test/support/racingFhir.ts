import type { Bundle } from '@medplum/fhirtypes';
import type { FhirClient } from '../../shared/fhir/fhirClient.js';

/**
 * A client on `fhir` that runs `race(bundle)` once, just before its first transaction is sent: another writer's
 * write landing between our read and our write.
 */
export function raceBeforeFirstTransaction(fhir: FhirClient, race: (bundle: Bundle) => Promise<void>): FhirClient {
  let raced = false;
  return {
    search: (resourceType, params) => fhir.search(resourceType, params),
    transaction: async (bundle: Bundle) => {
      if (!raced) {
        raced = true;
        await race(bundle);
      }
      return fhir.transaction(bundle);
    },
  };
}
