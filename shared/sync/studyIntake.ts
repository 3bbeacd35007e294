import { getString, Tag, type DicomJsonDataset } from '../dicomweb/dicomJson.js';
import { screenDicomJsonItem, type MalformedInstance } from '../dicomweb/dicomJsonShape.js';
import type { StudyReader } from '../dicomweb/studyReader.js';
import type { MappingOptions } from '../mapping/index.js';
import { StudyScreener, type ScreenedStudy } from '../mapping/transaction/screen.js';
import { mapped } from '../mapping/unexpectedError.js';

/**
 * What the writer keeps of a study's current metadata, built one instance at a time as the DICOM server's answer
 * arrives: each instance checked (shape, identifiers) and read into its compact record as it comes, so the whole
 * study's parsed metadata is never held (only the datasets ScreenedStudy names: the winner's, the dose reports').
 */
export interface StudyIntake {
  /** The SOP Instance UID of every item returned, malformed ones too: what the feed listed is checked against it. */
  present: ReadonlySet<string | undefined>;
  /** Items whose DICOM JSON is malformed: left out, each recorded where it is wrong. */
  malformed: MalformedInstance[];
  /** The well-formed instances screened and read. */
  screened: ScreenedStudy;
  /** Set when only these series were read (seriesReads.ts); unset: the whole study. */
  series?: ReadonlySet<string>;
}

/** The SOP Instance UID of an item of any shape (undefined when it has none it can be named by). */
function sopOf(item: DicomJsonDataset): string | undefined {
  try {
    return getString(item, Tag.SOPInstanceUID);
  } catch {
    return undefined;
  }
}

/**
 * Reads the study's current metadata into its intake, streamed; only `series`, one request each, when given. An
 * exception the mapping did not mean to throw is bad data of the study.
 */
export async function readStudyIntake(
  reader: StudyReader,
  study: { study: string; partition?: string; sequences: ReadonlyMap<string, number>; series?: readonly string[] },
  mapping: MappingOptions,
): Promise<StudyIntake> {
  const present = new Set<string | undefined>();
  const malformed: MalformedInstance[] = [];
  const screener = new StudyScreener(study.study, mapping, study.sequences);
  const take = (item: DicomJsonDataset) => {
    present.add(sopOf(item));
    const checked = screenDicomJsonItem(item);
    if (checked.malformed) malformed.push(checked.malformed);
    else mapped(study.study, () => screener.add(checked.dataset));
  };
  if (study.series) {
    for (const series of study.series) await reader.forEachStudyInstance(study.study, study.partition, take, series);
    return { present, malformed, screened: screener.result(), series: new Set(study.series) };
  }
  await reader.forEachStudyInstance(study.study, study.partition, take);
  return { present, malformed, screened: screener.result() };
}

/** How many instances the study has now (streamed: counted, not held). */
export function countStudyInstances(reader: StudyReader, study: string, partition?: string): Promise<number> {
  return reader.forEachStudyInstance(study, partition, () => undefined);
}
