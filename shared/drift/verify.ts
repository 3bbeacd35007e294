import type { AxiosInstance } from 'axios';
import type { ImagingStudy } from '@medplum/fhirtypes';
import type { DicomWebApiVersion } from '../dicomweb/apiVersion.js';
import type { FhirPages } from '../fhir/fhirClient.js';
import type { MappingOptions } from '../mapping/types.js';
import { archiveInstanceUids, archiveStudy, queryArchiveStudies } from './archiveStudies.js';
import { fhirStudiesFor, fhirStudiesPage, instanceUidsOf, studyUidOf } from './fhirStudies.js';
import { compareInstanceSets, compareStudies, compareStudy, type StudyDrift } from './studyDrift.js';

export interface VerifySources {
  dicomHttp: AxiosInstance;
  version: DicomWebApiVersion;
  mapping: MappingOptions;
  fhir: FhirPages;
}

export interface VerifyOptions {
  /** Only this study (its instance sets are compared UID by UID). */
  study?: string;
  /** Only studies with StudyDate (archive) / started (FHIR) on or after this DICOM date (YYYYMMDD). */
  studyDateFrom?: string;
  pageSize?: number;
  /** How many SOP Instance UIDs to show per side of an instance difference (default 5). */
  sample?: number;
  onProgress?: (progress: { archiveStudies: number; fhirStudies: number }) => void;
}

export interface VerifyResult {
  archiveStudies: number;
  fhirStudies: number;
  drifts: StudyDrift[];
}

/** Adds the first few UIDs on each side to an instance difference. */
async function withInstanceDetail(
  sources: VerifySources,
  drift: StudyDrift,
  imagingStudy: ImagingStudy | undefined,
  sample: number,
): Promise<StudyDrift> {
  if (drift.kind !== 'instances-differ' || !imagingStudy) return drift;
  const archive = await archiveInstanceUids(sources.dicomHttp, sources.version, drift.study);
  const sets = compareInstanceSets(archive, instanceUidsOf(imagingStudy), sample);
  return { ...drift, onlyInArchive: sets.onlyInArchive, onlyInFhir: sets.onlyInFhir };
}

function byStudy(imagingStudies: readonly ImagingStudy[]): Map<string, ImagingStudy> {
  const map = new Map<string, ImagingStudy>();
  for (const imagingStudy of imagingStudies) {
    const uid = studyUidOf(imagingStudy);
    if (uid) map.set(uid, imagingStudy);
  }
  return map;
}

/** One study, UID by UID: counts, instance sets and subject. */
async function verifyOneStudy(sources: VerifySources, study: string, sample: number): Promise<VerifyResult> {
  const archive = await archiveStudy(sources.dicomHttp, sources.version, sources.mapping, study);
  const fhir = await fhirStudiesFor(sources.fhir, sources.mapping.endpoint, [study]);
  const fhirStudy = fhir.studies.find((found) => found.study === study);
  const drifts: StudyDrift[] = compareStudy(archive, fhirStudy).filter((drift) => drift.kind !== 'instances-differ');
  if (archive && fhirStudy) {
    const imagingStudy = byStudy(fhir.imagingStudies).get(study)!;
    const archiveUids = await archiveInstanceUids(sources.dicomHttp, sources.version, study);
    const sets = compareInstanceSets(archiveUids, instanceUidsOf(imagingStudy), sample);
    if (sets.onlyInArchiveCount + sets.onlyInFhirCount > 0) {
      drifts.unshift({
        kind: 'instances-differ',
        study,
        archiveInstances: archiveUids.length,
        fhirInstances: fhirStudy.instances,
        onlyInArchive: sets.onlyInArchive,
        onlyInFhir: sets.onlyInFhir,
      });
    }
  }
  return { archiveStudies: archive ? 1 : 0, fhirStudies: fhirStudy ? 1 : 0, drifts };
}

/**
 * Compares the archive with FHIR: every archive study (QIDO-RS pages) looked up in FHIR, then every ImagingStudy
 * this app wrote that the archive walk did not list, confirmed gone by a direct query before it is reported.
 * Read-only; the same comparison as the drift sweep (shared/drift/studyDrift.ts).
 */
export async function verifyArchive(sources: VerifySources, options: VerifyOptions = {}): Promise<VerifyResult> {
  const sample = options.sample ?? 5;
  if (options.study) return verifyOneStudy(sources, options.study, sample);
  const pageSize = Math.min(200, Math.max(1, options.pageSize ?? 100));
  const endpoint = sources.mapping.endpoint;
  const result: VerifyResult = { archiveStudies: 0, fhirStudies: 0, drifts: [] };
  const seen = new Set<string>();
  const report = () => options.onProgress?.({ archiveStudies: result.archiveStudies, fhirStudies: result.fhirStudies });

  for (let offset = 0; ;) {
    const page = await queryArchiveStudies(sources.dicomHttp, sources.version, sources.mapping, {
      limit: pageSize,
      offset,
      ...(options.studyDateFrom ? { studyDateFrom: options.studyDateFrom } : {}),
    });
    const uids = page.studies.map((study) => study.study);
    const fhir = await fhirStudiesFor(sources.fhir, endpoint, uids);
    const imagingStudies = byStudy(fhir.imagingStudies);
    for (const drift of compareStudies(page.studies, fhir.studies)) {
      result.drifts.push(await withInstanceDetail(sources, drift, imagingStudies.get(drift.study), sample));
    }
    for (const uid of uids) seen.add(uid);
    result.archiveStudies += page.studies.length;
    offset += page.returned;
    report();
    if (page.returned < pageSize) break;
  }

  const started: Record<string, string> = options.studyDateFrom
    ? {
        started: `ge${options.studyDateFrom.slice(0, 4)}-${options.studyDateFrom.slice(4, 6)}-${options.studyDateFrom.slice(6, 8)}`,
      }
    : {};
  let pageUrl: string | undefined;
  do {
    const page = await fhirStudiesPage(sources.fhir, endpoint, pageSize, pageUrl, started);
    for (const study of page.studies) {
      result.fhirStudies++;
      if (seen.has(study.study) || !study.owned) continue;
      // Not in the walk: paging is not stable under deletes, so ask for it directly before calling it gone.
      const direct = await archiveStudy(sources.dicomHttp, sources.version, sources.mapping, study.study);
      result.drifts.push(...compareStudy(direct, study));
      if (direct) result.archiveStudies++;
    }
    report();
    pageUrl = page.next;
  } while (pageUrl);
  return result;
}
