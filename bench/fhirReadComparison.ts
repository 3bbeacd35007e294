// What reading the study state in one FHIR batch (shared/fhir/readStudyState.ts, not yet used by the writer)
// saves over the writer's searches today, on the FHIR server as the sync left it.
import type { Bundle, ImagingStudy, Patient } from '@medplum/fhirtypes';
import { noAuthorization } from '../shared/auth/index.js';
import { createFhirClient } from '../shared/fhir/fhirClient.js';
import { readStudyState } from '../shared/fhir/readStudyState.js';
import { endpointSearchParams, imagingStudySearchParams, type MappingOptions } from '../shared/mapping/index.js';
import type { RemoteServers } from './remoteServers.js';

export interface ReadComparison {
  studies: number;
  searches: { requests: number; ms: number };
  batch: { requests: number; ms: number };
  batchWithSubject: { requests: number; ms: number };
}

export async function compareFhirReads(
  servers: RemoteServers,
  studyUids: readonly string[],
  mapping: MappingOptions,
): Promise<ReadComparison> {
  const fhir = createFhirClient({ baseUrl: servers.fhirUrl, authorization: noAuthorization });
  const timed = async (read: (study: string) => Promise<unknown>) => {
    await servers.resetCounts();
    const started = performance.now();
    for (const study of studyUids) await read(study);
    const ms = performance.now() - started;
    return { requests: (await servers.counts()).fhirRequests, ms };
  };
  // Today (shared/sync/syncStudy.ts): the ImagingStudy, the Endpoint name by name until found, the Patient.
  const searches = await timed(async (study) => {
    const [imagingStudy] = await fhir.search<ImagingStudy>('ImagingStudy', imagingStudySearchParams(study));
    for (const params of endpointSearchParams(mapping)) {
      if ((await fhir.search('Endpoint', params)).length > 0) break;
    }
    const subject = imagingStudy?.subject?.reference?.split('/')[1];
    if (subject) await fhir.search<Patient>('Patient', { _id: subject });
  });
  const post = (bundle: Bundle) => fhir.transaction(bundle);
  const batch = await timed((study) => readStudyState(post, study, mapping));
  const batchWithSubject = await timed((study) => readStudyState(post, study, mapping, { includeSubject: true }));
  return { studies: studyUids.length, searches, batch, batchWithSubject };
}
