import type { ImagingStudy } from '@medplum/fhirtypes';
import type { FhirClient } from '../shared/fhir/fhirClient.js';
import { imagingStudySearchParams } from '../shared/mapping/index.js';

export interface StudySummary {
  study: string;
  imagingStudyId?: string;
  patient?: string;
  series: number;
  instances: number;
  url?: string;
}

/** Reads back from FHIR what the sync wrote for each study. */
export async function summarizeStudies(
  fhir: FhirClient,
  fhirUrl: string,
  studyUids: string[],
): Promise<StudySummary[]> {
  const summaries: StudySummary[] = [];
  for (const study of studyUids) {
    const [found] = await fhir.search<ImagingStudy>('ImagingStudy', imagingStudySearchParams(study));
    const instances = found?.series?.reduce((sum, series) => sum + (series.instance?.length ?? 0), 0) ?? 0;
    summaries.push({
      study,
      series: found?.series?.length ?? 0,
      instances,
      ...(found?.id
        ? { imagingStudyId: found.id, url: `${fhirUrl}/ImagingStudy/${found.id}`, patient: found.subject?.reference }
        : {}),
    });
  }
  return summaries;
}

export function formatSummary(summaries: StudySummary[]): string {
  const lines = summaries.map((summary) =>
    summary.imagingStudyId
      ? `  study ${summary.study}\n    ImagingStudy/${summary.imagingStudyId}  ${summary.patient ?? ''}  series ${summary.series}  instances ${summary.instances}\n    ${summary.url ?? ''}`
      : `  study ${summary.study}\n    not in FHIR`,
  );
  const synced = summaries.filter((summary) => summary.imagingStudyId);
  const total = synced.reduce((sum, summary) => sum + summary.instances, 0);
  const series = synced.reduce((sum, summary) => sum + summary.series, 0);
  return [
    `Synced ${synced.length} of ${summaries.length} studies: ${series} series, ${total} instances`,
    ...lines,
  ].join('\n');
}
