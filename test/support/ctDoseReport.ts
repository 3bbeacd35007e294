import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { C, ctDoseContent, srDataset, type CtEvent } from './doseReports.js';
import { studyUid } from './mappingFixtures.js';

/**
 * A CT dose report (X-Ray Radiation Dose SR, TID 10011) of the mapping fixtures' study and patient (`studyUid`,
 * PID-1): instance `sop` (1.2.3.9.1 unless given) of series 1.2.3.9, one irradiation event a CT acquisition.
 */
export function ctDoseReport(
  events: CtEvent[],
  dlpTotal: number | string,
  { sop = '1.2.3.9.1', extra }: { sop?: string; extra?: DicomJsonDataset } = {},
): DicomJsonDataset {
  return srDataset({
    studyUid,
    seriesUid: '1.2.3.9',
    sopUid: sop,
    patientId: 'PID-1',
    title: C.xRayDoseReport,
    content: ctDoseContent(events, dlpTotal),
    ...(extra ? { extra } : {}),
  });
}
