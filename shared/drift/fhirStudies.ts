import type { ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirPages } from '../fhir/fhirClient.js';
import { imagingStudyIdentifier } from '../mapping/imagingStudy.js';
import { tokenSearchValue } from '../mapping/search.js';
import type { FhirStudy } from './studyDrift.js';

const uidSystem = imagingStudyIdentifier('').system!;

/** The Study Instance UID an ImagingStudy names (`urn:dicom:uid` / `urn:oid:<uid>`). */
export function studyUidOf(imagingStudy: ImagingStudy): string | undefined {
  const value = imagingStudy.identifier?.find((identifier) => identifier.system === uidSystem)?.value;
  return value?.startsWith('urn:oid:') ? value.slice('urn:oid:'.length) : undefined;
}

/** Every SOP Instance UID an ImagingStudy lists. */
export function instanceUidsOf(imagingStudy: ImagingStudy): string[] {
  return (imagingStudy.series ?? []).flatMap((series) => (series.instance ?? []).map((instance) => instance.uid));
}

function toFhirStudy(
  imagingStudy: ImagingStudy,
  endpoint: string,
  patients: ReadonlyMap<string, Patient>,
): FhirStudy | undefined {
  const study = studyUidOf(imagingStudy);
  if (!study || !imagingStudy.id) return undefined;
  const subject = imagingStudy.subject?.reference;
  const patient = subject ? patients.get(subject) : undefined;
  return {
    study,
    reference: `ImagingStudy/${imagingStudy.id}`,
    instances: instanceUidsOf(imagingStudy).length,
    owned: imagingStudy.meta?.source === endpoint,
    ...(subject ? { subject } : {}),
    ...(patient ? { subjectIdentifiers: patient.identifier ?? [] } : {}),
  };
}

function patientsByReference(included: readonly Resource[]): Map<string, Patient> {
  const patients = new Map<string, Patient>();
  for (const resource of included) {
    if (resource.resourceType === 'Patient' && resource.id) patients.set(`Patient/${resource.id}`, resource);
  }
  return patients;
}

/** One page of every ImagingStudy (with its subject), or the page at `pageUrl`. */
export async function fhirStudiesPage(
  fhir: FhirPages,
  endpoint: string,
  pageSize: number,
  pageUrl?: string,
  filter: Record<string, string> = {},
): Promise<{ studies: FhirStudy[]; imagingStudies: ImagingStudy[]; next?: string }> {
  const page = await fhir.searchPage<ImagingStudy>(
    'ImagingStudy',
    { ...filter, _count: String(pageSize), _include: 'ImagingStudy:subject' },
    pageUrl,
  );
  const patients = patientsByReference(page.included);
  const studies = page.matches
    .map((imagingStudy) => toFhirStudy(imagingStudy, endpoint, patients))
    .filter((study): study is FhirStudy => study !== undefined);
  return { studies, imagingStudies: page.matches, ...(page.next ? { next: page.next } : {}) };
}

/** The ImagingStudies of these studies (one search with an identifier list, following its pages). */
export async function fhirStudiesFor(
  fhir: FhirPages,
  endpoint: string,
  studies: readonly string[],
): Promise<{ studies: FhirStudy[]; imagingStudies: ImagingStudy[] }> {
  if (studies.length === 0) return { studies: [], imagingStudies: [] };
  const found: FhirStudy[] = [];
  const imagingStudies: ImagingStudy[] = [];
  const params = {
    identifier: studies.map((uid) => tokenSearchValue(uidSystem, `urn:oid:${uid}`)).join(','),
    _count: String(Math.min(200, Math.max(studies.length, 10))),
    _include: 'ImagingStudy:subject',
  };
  let pageUrl: string | undefined;
  do {
    const page = await fhir.searchPage<ImagingStudy>('ImagingStudy', params, pageUrl);
    const patients = patientsByReference(page.included);
    for (const imagingStudy of page.matches) {
      const study = toFhirStudy(imagingStudy, endpoint, patients);
      if (study) found.push(study);
      imagingStudies.push(imagingStudy);
    }
    pageUrl = page.next;
  } while (pageUrl);
  return { studies: found, imagingStudies };
}
