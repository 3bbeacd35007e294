import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import type { RunningDicomServer } from '../../dev/dicom-server/index.js';
import type { RunningFhirServer } from '../../dev/fhir-server/index.js';
import { getString, Tag } from '../../shared/dicomweb/dicomJson.js';

/** What the DICOM side holds now: the stand-in's own list, or one read from a real archive (Orthanc). */
export interface DicomSide {
  currentInstances():
    ReturnType<RunningDicomServer['currentInstances']> | Promise<ReturnType<RunningDicomServer['currentInstances']>>;
}

/**
 * Compares the FHIR server with the DICOM server and lists every way they disagree
 * (an empty list is the correctness invariant holding).
 */
export async function differences(dicom: DicomSide, fhir: RunningFhirServer): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map<string, { patientId: string; description?: string; series: Map<string, Set<string>> }>();
  for (const instance of await dicom.currentInstances()) {
    let study = expected.get(instance.study);
    if (!study) {
      const description = getString(instance.dataset, Tag.StudyDescription);
      study = {
        patientId: getString(instance.dataset, Tag.PatientID) ?? '',
        ...(description ? { description } : {}),
        series: new Map(),
      };
      expected.set(instance.study, study);
    }
    let series = study.series.get(instance.series);
    if (!series) study.series.set(instance.series, (series = new Set()));
    series.add(instance.sop);
  }

  const studies = await fhir.all<ImagingStudy>('ImagingStudy');
  const patients = await fhir.all<Patient>('Patient');
  const endpoints = await fhir.all<Endpoint>('Endpoint');
  if (endpoints.length !== 1) problems.push(`expected 1 Endpoint, found ${endpoints.length}`);

  const patientsByIdentifier = new Map<string, Patient[]>();
  for (const patient of patients) {
    for (const identifier of patient.identifier ?? []) {
      const key = `${identifier.system ?? ''}|${identifier.value ?? ''}`;
      patientsByIdentifier.set(key, [...(patientsByIdentifier.get(key) ?? []), patient]);
    }
  }
  for (const [key, found] of patientsByIdentifier) {
    if (found.length > 1) problems.push(`${found.length} Patients with identifier ${key}`);
  }

  const seen = new Map<string, ImagingStudy>();
  for (const imagingStudy of studies) {
    const uid = imagingStudy.identifier
      ?.find((identifier) => identifier.system === 'urn:dicom:uid')
      ?.value?.replace(/^urn:oid:/, '');
    if (!uid) {
      problems.push(`ImagingStudy/${imagingStudy.id ?? '?'} has no study UID identifier`);
      continue;
    }
    if (seen.has(uid)) problems.push(`two ImagingStudy resources for study ${uid}`);
    seen.set(uid, imagingStudy);
    const want = expected.get(uid);
    if (!want) {
      problems.push(`ImagingStudy for study ${uid} exists, but the DICOM server holds none of its instances`);
      continue;
    }
    const got = new Map<string, string[]>();
    for (const series of imagingStudy.series ?? []) {
      if (got.has(series.uid)) problems.push(`study ${uid}: series ${series.uid} listed twice`);
      got.set(
        series.uid,
        (series.instance ?? []).map((instance) => instance.uid),
      );
    }
    for (const [seriesUid, sops] of want.series) {
      const have = got.get(seriesUid);
      if (!have) {
        problems.push(`study ${uid}: series ${seriesUid} missing`);
        continue;
      }
      if (new Set(have).size !== have.length) problems.push(`study ${uid} series ${seriesUid}: an instance twice`);
      for (const sop of sops) if (!have.includes(sop)) problems.push(`study ${uid}: instance ${sop} missing`);
      for (const sop of have) if (!sops.has(sop)) problems.push(`study ${uid}: deleted instance ${sop} still present`);
    }
    for (const seriesUid of got.keys()) {
      if (!want.series.has(seriesUid)) problems.push(`study ${uid}: deleted series ${seriesUid} still present`);
    }
    const instanceCount = [...want.series.values()].reduce((sum, sops) => sum + sops.size, 0);
    if (imagingStudy.numberOfInstances !== instanceCount) {
      problems.push(`study ${uid}: numberOfInstances ${imagingStudy.numberOfInstances} != ${instanceCount}`);
    }
    if (imagingStudy.description !== want.description) {
      problems.push(`study ${uid}: description "${imagingStudy.description}" != "${want.description}"`);
    }
    const subject = patients.find((patient) => `Patient/${patient.id}` === imagingStudy.subject?.reference);
    if (!subject?.identifier?.some((identifier) => identifier.value === want.patientId)) {
      problems.push(`study ${uid}: subject ${imagingStudy.subject?.reference} is not patient ${want.patientId}`);
    }
  }
  for (const uid of expected.keys()) {
    if (!seen.has(uid)) problems.push(`study ${uid} has no ImagingStudy`);
  }
  return problems;
}
