import { Tag, getString, type DicomJsonDataset } from '../../dicomweb/dicomJson.js';
import type { Failure } from '../../errors/errors.js';
import { patientIdentifier, type PatientIdentifier } from '../patient.js';
import { readStudyInstances, type StudyInstancesRead } from '../studyInstances.js';
import { tagLabel } from '../tags.js';
import type { MappingOptions, StudyInstance } from '../types.js';

/**
 * A study's instances screened and read once a sync: the writer needs the winner before it plans (to search for its
 * Patient), the planners need every instance read; neither parses them again.
 */
export interface ScreenedStudy {
  /** How many instances the DICOM server returned. */
  returned: number;
  /** The instances that have the identifiers nothing can be done without, with their change-feed sequences. */
  instances: StudyInstance[];
  /** The instances without them: left out, recorded. */
  failures: Failure[];
  /** `instances` read and checked; its winner decides the study-level attributes and the Patient. */
  read: StudyInstancesRead;
}

export function screenStudy(
  input: { study: string; datasets: DicomJsonDataset[]; sequences?: ReadonlyMap<string, number> },
  options: MappingOptions,
): ScreenedStudy {
  const instances: StudyInstance[] = [];
  const failures: Failure[] = [];
  for (const dataset of input.datasets) {
    const sop = getString(dataset, Tag.SOPInstanceUID);
    const series = getString(dataset, Tag.SeriesInstanceUID);
    const sequence = sop === undefined ? undefined : input.sequences?.get(sop);
    const missing = !sop
      ? { tag: Tag.SOPInstanceUID, keyword: 'SOPInstanceUID' }
      : !series
        ? { tag: Tag.SeriesInstanceUID, keyword: 'SeriesInstanceUID' }
        : !getString(dataset, Tag.PatientID)
          ? { tag: Tag.PatientID, keyword: 'PatientID' }
          : undefined;
    if (!missing) {
      instances.push(sequence === undefined ? { dataset } : { dataset, sequence });
      continue;
    }
    failures.push({
      category: 'bad-dicom-data',
      reason: `Instance has no ${missing.keyword} ${tagLabel(missing.tag)}; it is left out of the ImagingStudy`,
      study: input.study,
      ...(series ? { series } : {}),
      ...(sop ? { instance: sop } : {}),
      tag: tagLabel(missing.tag),
      ...(sequence !== undefined ? { sequence } : {}),
    });
  }
  const read = readStudyInstances(input.study, instances, options);
  return { returned: input.datasets.length, instances, failures, read };
}

/**
 * The identity of the Patient the study's data names (from the instance stored last that is usable), for
 * the caller to search before planning; undefined when no instance is usable.
 */
export function studyPatientIdentity(screened: ScreenedStudy, options: MappingOptions): PatientIdentifier | undefined {
  const winner = screened.read.winner;
  return winner && patientIdentifier(winner.instance.dataset, options);
}
