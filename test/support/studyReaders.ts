import { getString, Tag, type DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import type { StudyReader } from '../../shared/dicomweb/studyReader.js';

/**
 * A StudyReader over a fake that gives a study's whole metadata: each item handed over in order, as the streamed read
 * does; asked for one series, only the items of that series (what WADO-RS series metadata answers).
 */
export function studyReaderOver(
  read: (study: string, partition: string | undefined) => Promise<unknown[]>,
): StudyReader {
  return {
    async forEachStudyInstance(study, partition, onInstance, series) {
      let count = 0;
      for (const item of await read(study, partition)) {
        if (series !== undefined && seriesOf(item) !== series) continue;
        onInstance(item as DicomJsonDataset);
        count++;
      }
      return count;
    },
  };
}

function seriesOf(item: unknown): string | undefined {
  try {
    return getString(item as DicomJsonDataset, Tag.SeriesInstanceUID);
  } catch {
    return undefined;
  }
}
