import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import type { CurrentInstance, RunningDicomServer } from '../../dev/dicom-server/index.js';
import type { RunningFhirServer } from '../../dev/fhir-server/index.js';
import { getPersonName, getString, Tag } from '../../shared/dicomweb/dicomJson.js';

/**
 * Compares the FHIR server with the DICOM server and lists every way they disagree
 * (an empty list is the correctness invariant holding).
 */
export async function differences(dicom: RunningDicomServer, fhir: RunningFhirServer): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map<string, { patientId: string; description?: string; series: Map<string, Set<string>> }>();
  for (const instance of dicom.currentInstances()) {
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

interface FeedRow {
  sequence: number;
  studyInstanceUid: string;
  sopInstanceUid: string;
}

/** Every change-feed row of the DICOM server (v2, read in pages like a client). */
async function changeFeedRows(dicomUrl: string): Promise<FeedRow[]> {
  const rows: FeedRow[] = [];
  for (;;) {
    const response = await fetch(`${dicomUrl}/v2/changefeed?offset=${rows.length}&limit=200&includeMetadata=false`);
    if (!response.ok) throw new Error(`change feed answered ${response.status}`);
    const page = (await response.json()) as FeedRow[];
    if (page.length === 0) return rows;
    rows.push(...page);
  }
}

/**
 * The Patient demographics check: when several studies name one patient, the Patient shows the name, sex and birth
 * date of the study with the newest change-feed entry among them (of any action), taken from that study's instance
 * stored last (the study-level winner), whatever order the writers processed the messages in.
 */
export async function patientDifferences(dicom: RunningDicomServer, fhir: RunningFhirServer): Promise<string[]> {
  const newestByStudy = new Map<string, number>();
  const newestBySop = new Map<string, number>();
  for (const row of await changeFeedRows(dicom.url)) {
    newestByStudy.set(row.studyInstanceUid, Math.max(newestByStudy.get(row.studyInstanceUid) ?? 0, row.sequence));
    newestBySop.set(row.sopInstanceUid, Math.max(newestBySop.get(row.sopInstanceUid) ?? 0, row.sequence));
  }
  const winnerByStudy = new Map<string, CurrentInstance>();
  for (const instance of dicom.currentInstances()) {
    const winner = winnerByStudy.get(instance.study);
    if (!winner || (newestBySop.get(instance.sop) ?? 0) > (newestBySop.get(winner.sop) ?? 0)) {
      winnerByStudy.set(instance.study, instance);
    }
  }
  const studiesByPatient = new Map<
    string,
    { study: string; sequence: number; dataset: CurrentInstance['dataset'] }[]
  >();
  for (const [study, winner] of winnerByStudy) {
    const patientId = getString(winner.dataset, Tag.PatientID) ?? '';
    const entry = { study, sequence: newestByStudy.get(study) ?? 0, dataset: winner.dataset };
    studiesByPatient.set(patientId, [...(studiesByPatient.get(patientId) ?? []), entry]);
  }
  const expectedByPatient = new Map<string, { study: string; sequence: number; dataset: CurrentInstance['dataset'] }>();
  const describeStudies = new Map<string, string>();
  for (const [patientId, studies] of studiesByPatient) {
    studies.sort((a, b) => b.sequence - a.sequence);
    expectedByPatient.set(patientId, studies[0]!);
    const names = studies.map(
      ({ study, sequence, dataset }) =>
        `${study.slice(-6)}@${sequence} ${getPersonName(dataset, Tag.PatientName)?.Alphabetic ?? '-'}/` +
        `${getString(dataset, Tag.PatientSex) ?? '-'}/${getString(dataset, Tag.PatientBirthDate) ?? '-'}`,
    );
    describeStudies.set(patientId, names.join(', '));
  }

  const problems: string[] = [];
  const patients = await fhir.all<Patient>('Patient');
  for (const [patientId, { study, sequence, dataset }] of expectedByPatient) {
    const found = patients.filter((patient) =>
      patient.identifier?.some((identifier) => identifier.value === patientId),
    );
    if (found.length !== 1) continue; // reported by differences()
    const patient = found[0] as Patient;
    const usual = patient.name?.find((name) => name.use === 'usual');
    const got = {
      name: usual ? `${usual.family ?? ''}^${(usual.given ?? []).join(' ')}` : undefined,
      gender: patient.gender,
      birthDate: patient.birthDate,
    };
    const want = {
      name: getPersonName(dataset, Tag.PatientName)?.Alphabetic,
      gender: { M: 'male', F: 'female', O: 'other' }[getString(dataset, Tag.PatientSex) ?? ''],
      birthDate: getString(dataset, Tag.PatientBirthDate)?.replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3'),
    };
    for (const key of ['name', 'gender', 'birthDate'] as const) {
      if (got[key] !== want[key]) {
        problems.push(
          `Patient ${patientId}: ${key} ${JSON.stringify(got[key])} != ${JSON.stringify(want[key])} ` +
            `(study ${study}, newest change-feed entry ${sequence}; studies naming the patient, newest first: ` +
            `${describeStudies.get(patientId)})`,
        );
      }
    }
  }
  return problems;
}
