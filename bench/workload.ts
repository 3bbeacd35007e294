// The bench workload: Part-10 files made up front (dcmjs costs about 1 ms a file, which must not be timed),
// stored with real STOW-RS requests, and the check that FHIR ended up holding every instance.
import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import axios from 'axios';
import { encodeStowBody } from '../dev/dicom-server/index.js';
import { makeInstanceFile, type InstanceSpec } from '../dev/samples/index.js';
import { imagingStudyIdentifier } from '../shared/mapping/index.js';

export interface Part10Workload {
  specs: InstanceSpec[];
  files: Buffer[];
  generateMs: number;
}

export function generateFiles(specs: InstanceSpec[]): Part10Workload {
  const started = performance.now();
  const files = specs.map(makeInstanceFile);
  return { specs, files, generateMs: performance.now() - started };
}

/** STOW-RS to the DICOM server, `batchSize` files a request; resolves to the time it took (ms). */
export async function stowFiles(dicomUrl: string, files: readonly Buffer[], batchSize = 50): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < files.length; start += batchSize) {
    const { body, contentType } = encodeStowBody(files.slice(start, start + batchSize));
    const response = await axios.post(`${dicomUrl.replace(/\/+$/, '')}/v2/studies`, body, {
      headers: { 'Content-Type': contentType, Accept: 'application/dicom+json' },
      validateStatus: () => true,
      maxBodyLength: Infinity,
    });
    if (response.status !== 200) throw new Error(`STOW-RS to ${dicomUrl} answered ${response.status}`);
  }
  return performance.now() - started;
}

/** The newest change-feed sequence (0 when the feed is empty). */
export async function latestSequence(dicomUrl: string): Promise<number> {
  const response = await axios.get<{ sequence?: number }>(`${dicomUrl.replace(/\/+$/, '')}/v1/changefeed/latest`, {
    params: { includeMetadata: false },
    validateStatus: () => true,
  });
  if (response.status !== 200) throw new Error(`GET changefeed/latest answered ${response.status}`);
  return response.data.sequence ?? 0;
}

export interface Completeness {
  complete: boolean;
  expectedStudies: number;
  expectedInstances: number;
  foundInstances: number;
  /** At most a few lines naming what is missing or extra. */
  problems: string[];
}

/**
 * True when every expected study has its ImagingStudy holding exactly the expected instances (per series),
 * numberOfInstances agrees, each study's subject is the Patient with its PatientID, and there is one Endpoint.
 */
export async function checkFhirComplete(
  fhir: { all<T>(resourceType: string): Promise<T[]> },
  specs: readonly InstanceSpec[],
): Promise<Completeness> {
  const expected = new Map<string, { patientId: string; series: Map<string, Set<string>> }>();
  for (const spec of specs) {
    let study = expected.get(spec.studyUid);
    if (!study) {
      study = { patientId: spec.patientId, series: new Map() };
      expected.set(spec.studyUid, study);
    }
    let series = study.series.get(spec.seriesUid);
    if (!series) {
      series = new Set();
      study.series.set(spec.seriesUid, series);
    }
    series.add(spec.sopUid);
  }

  const [imagingStudies, patients, endpoints] = await Promise.all([
    fhir.all<ImagingStudy>('ImagingStudy'),
    fhir.all<Patient>('Patient'),
    fhir.all<Endpoint>('Endpoint'),
  ]);
  const patientIdOf = new Map(
    patients.map((patient) => [`Patient/${patient.id ?? ''}`, patient.identifier?.[0]?.value]),
  );
  const byIdentifier = new Map<string, ImagingStudy>();
  for (const imagingStudy of imagingStudies) {
    for (const identifier of imagingStudy.identifier ?? []) {
      byIdentifier.set(`${identifier.system ?? ''}|${identifier.value ?? ''}`, imagingStudy);
    }
  }
  const imagingStudyOf = (studyUid: string) => {
    const { system, value } = imagingStudyIdentifier(studyUid);
    return byIdentifier.get(`${system ?? ''}|${value ?? ''}`);
  };

  const problems: string[] = [];
  let expectedInstances = 0;
  let foundInstances = 0;
  for (const [studyUid, study] of expected) {
    const imagingStudy = imagingStudyOf(studyUid);
    const want = [...study.series.values()].reduce((total, sops) => total + sops.size, 0);
    expectedInstances += want;
    if (!imagingStudy) {
      problems.push(`study ${studyUid}: no ImagingStudy`);
      continue;
    }
    let found = 0;
    for (const [seriesUid, sops] of study.series) {
      const series = imagingStudy.series?.find((candidate) => candidate.uid === seriesUid);
      const have = new Set((series?.instance ?? []).map((instance) => instance.uid));
      found += [...sops].filter((sop) => have.has(sop)).length;
      const missing = [...sops].filter((sop) => !have.has(sop)).length;
      const extra = [...have].filter((sop) => !sops.has(sop)).length;
      if (missing || extra) problems.push(`study ${studyUid} series ${seriesUid}: ${missing} missing, ${extra} extra`);
    }
    foundInstances += found;
    if (imagingStudy.numberOfInstances !== want) {
      problems.push(`study ${studyUid}: numberOfInstances ${imagingStudy.numberOfInstances ?? '-'}, expected ${want}`);
    }
    const subject = imagingStudy.subject?.reference ?? '';
    if (patientIdOf.get(subject) !== study.patientId) {
      problems.push(`study ${studyUid}: subject ${subject} is not the Patient with PatientID ${study.patientId}`);
    }
  }
  if (endpoints.length !== 1) problems.push(`${endpoints.length} Endpoint resources, expected 1`);
  return {
    complete: problems.length === 0,
    expectedStudies: expected.size,
    expectedInstances,
    foundInstances,
    problems: problems.length > 5 ? [...problems.slice(0, 5), `... and ${problems.length - 5} more`] : problems,
  };
}
