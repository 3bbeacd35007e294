// The physical limit the bench compares the sync with: the same final resources (as the sync left them in FHIR)
// written straight into the same FHIR server, one transaction per study, `parallel` at a time, no reads.
import type { Bundle, BundleEntry, Endpoint, ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { noAuthorization } from '../shared/auth/index.js';
import { conditionalCreate } from '../shared/fhir/bundleEntries.js';
import { createFhirClient } from '../shared/fhir/fhirClient.js';
import { referenceTo } from '../shared/fhir/versions.js';

export interface FinalResources {
  imagingStudies: ImagingStudy[];
  patients: Patient[];
  endpoints: Endpoint[];
}

/** A resource as a client would send it: no server-assigned id or meta. */
export function asNew<T extends Resource>(resource: T): T {
  const { id: _id, meta: _meta, ...rest } = resource;
  return rest as T;
}

function identifierCondition(resource: Patient | ImagingStudy | Endpoint): Record<string, string> {
  const identifier = resource.identifier?.[0];
  if (!identifier?.value) throw new Error(`${referenceTo(resource)} has no identifier to create it conditionally`);
  return { identifier: `${identifier.system ?? ''}|${identifier.value}` };
}

/** One transaction per ImagingStudy: its Patient and the Endpoint (If-None-Exist) and the study, by urn:uuid. */
export function studyTransactions(final: FinalResources): Bundle[] {
  const patients = new Map(final.patients.map((patient) => [referenceTo(patient), patient]));
  const endpoints = new Map(final.endpoints.map((endpoint) => [referenceTo(endpoint), endpoint]));
  return final.imagingStudies.map((study, index) => {
    const patient = patients.get(study.subject?.reference ?? '');
    const endpoint = endpoints.get(study.endpoint?.[0]?.reference ?? '');
    if (!patient || !endpoint) throw new Error(`ImagingStudy/${study.id ?? ''} lacks its Patient or Endpoint`);
    const patientUrl = `urn:uuid:00000000-0000-4000-8000-${String(2 * index).padStart(12, '0')}`;
    const endpointUrl = `urn:uuid:00000000-0000-4000-8000-${String(2 * index + 1).padStart(12, '0')}`;
    const entries: BundleEntry[] = [
      conditionalCreate(asNew(endpoint), endpointUrl, identifierCondition(endpoint)),
      conditionalCreate(asNew(patient), patientUrl, identifierCondition(patient)),
      conditionalCreate(
        { ...asNew(study), subject: { reference: patientUrl }, endpoint: [{ reference: endpointUrl }] },
        `urn:uuid:${crypto.randomUUID()}`,
        identifierCondition(study),
      ),
    ];
    return { resourceType: 'Bundle', type: 'transaction', entry: entries };
  });
}

/** Sends the transactions, `parallel` in flight at a time; resolves to the milliseconds it took. */
export async function writeStraight(fhirUrl: string, bundles: readonly Bundle[], parallel = 8): Promise<number> {
  const fhir = createFhirClient({ baseUrl: fhirUrl, authorization: noAuthorization });
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < bundles.length) {
      const bundle = bundles[next++];
      if (bundle) await fhir.transaction(bundle);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, bundles.length) }, worker));
  return performance.now() - started;
}
