import type { Bundle, BundleEntry, ImagingStudy, Resource } from '@medplum/fhirtypes';
import { positionsOf, type EntryPositions } from '../../shared/mapping/transaction/bundles.js';
import type { FhirStudyState, StudyPlan, StudyRemovalPlan } from '../../shared/mapping/transaction/plan.js';
import { buildStudyTransaction } from '../../shared/mapping/transaction/studyTransaction.js';
import { instance, options, studyUid } from './mappingFixtures.js';

/** The whole transaction a plan sends, as one Bundle; undefined when it sends nothing. */
export function bundleOf(plan: StudyPlan | StudyRemovalPlan): Bundle | undefined {
  return 'transaction' in plan ? plan.transaction.bundle : undefined;
}

/** Where the entries of a plan's fenced Bundle stand: the whole transaction when it is not split. */
export function fencedPositions(plan: StudyPlan): EntryPositions {
  return positionsOf(plan.action === 'write' ? plan.transaction.fenced.entries : []);
}

/**
 * The FHIR state after the server carried out the Bundle of an empty server (ids assigned, references resolved).
 */
export function stateAfter(entries: BundleEntry[]): FhirStudyState {
  const ids = new Map<string, string>();
  entries.forEach((entry, index) => {
    if (entry.fullUrl && entry.resource) ids.set(entry.fullUrl, `${entry.resource.resourceType}/id${index}`);
  });
  const resolve = <T extends Resource>(resource: T, index: number): T => {
    let text = JSON.stringify(resource);
    for (const [fullUrl, reference] of ids) text = text.replaceAll(fullUrl, reference);
    return { ...(JSON.parse(text) as T), id: `id${index}`, meta: { ...resource.meta, versionId: '1' } };
  };
  const state: FhirStudyState = { observations: [] };
  entries.forEach((entry, index) => {
    const resource = entry.resource;
    if (!resource) return;
    const stored = resolve(resource, index);
    if (stored.resourceType === 'ImagingStudy') state.imagingStudy = stored;
    if (stored.resourceType === 'Patient') state.patient = stored;
    if (stored.resourceType === 'Endpoint') state.endpoint = stored;
    if (stored.resourceType === 'Observation') state.observations?.push(stored);
  });
  return state;
}

/**
 * FHIR holding the ImagingStudy our transaction writes for instances `sops` (series 1.2.3.1) on an empty server,
 * stored as ImagingStudy/s1 with the fields of `study` over it, and our Endpoint as Endpoint/e1.
 */
export function storedStudyState(sops: string[], study: Partial<ImagingStudy>): FhirStudyState {
  const plan = buildStudyTransaction(
    { study: studyUid, datasets: sops.map((sop) => instance('1.2.3.1', sop)), state: {}, applyDemographics: true },
    options,
  );
  const written = bundleOf(plan)?.entry?.find((entry) => entry.resource?.resourceType === 'ImagingStudy')
    ?.resource as ImagingStudy;
  return {
    imagingStudy: { ...written, id: 's1', ...study },
    endpoint: {
      resourceType: 'Endpoint',
      id: 'e1',
      status: 'active',
      connectionType: { code: 'dicom-wado-rs' },
      payloadType: [],
      address: options.endpoint,
    },
  };
}
