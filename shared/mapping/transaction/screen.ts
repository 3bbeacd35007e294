import { Tag, getString, type DicomJsonDataset } from '../../dicomweb/dicomJson.js';
import type { Failure } from '../../errors/errors.js';
import { isDoseReport } from '../doseObservations.js';
import { patientIdentifier, type PatientIdentifier } from '../patient.js';
import { StudyInstancesReader, type StudyInstancesRead } from '../studyInstances.js';
import { tagLabel } from '../tags.js';
import type { MappingOptions, StudyInstance } from '../types.js';

/** An instance that has the identifiers nothing can be done without: where it stands, not its metadata. */
export interface ScreenedInstance {
  sop: string;
  series: string;
  /** Its change-feed sequence, when the message names it. */
  sequence?: number;
}

/**
 * A study's instances screened and read once a sync: the writer needs the winner before it plans (to search for its
 * Patient), the planners need every instance read; neither parses them again. Holds each instance's compact record,
 * and the full dataset only where the mapping reads it later: the winner's (the Patient) and the dose reports'
 * (the dose Observations).
 */
export interface ScreenedStudy {
  /** How many instances the DICOM server returned. */
  returned: number;
  /** The instances that have the identifiers nothing can be done without, with their change-feed sequences. */
  instances: ScreenedInstance[];
  /** The instances without them: left out, recorded. */
  failures: Failure[];
  /** `instances` read and checked; its winner decides the study-level attributes and the Patient. */
  read: StudyInstancesRead;
  /**
   * The dose SR instances among `instances` (their Observations are mapped from the whole dataset);
   * GenerateObservations only.
   */
  doseReports: StudyInstance[];
  /**
   * Whether any instance returned is a dose SR, usable or not (the writer then reads the Observations FHIR holds);
   * GenerateObservations only.
   */
  hasDoseReport: boolean;
}

/**
 * screenStudy one instance at a time, as the metadata arrives: what `result` gives is what screenStudy gives for
 * the same instances in the same order, and no dataset is kept but those ScreenedStudy names.
 */
export class StudyScreener {
  private returned = 0;
  private readonly instances: ScreenedInstance[] = [];
  private readonly failures: Failure[] = [];
  private readonly doseReports: StudyInstance[] = [];
  private hasDoseReport = false;
  private readonly reader: StudyInstancesReader;

  constructor(
    private readonly study: string,
    private readonly options: MappingOptions,
    private readonly sequences?: ReadonlyMap<string, number>,
  ) {
    this.reader = new StudyInstancesReader(study, options);
  }

  add(dataset: DicomJsonDataset): void {
    this.returned++;
    // Dose reports matter only to the dose Observations (and are looked for only when those are written).
    const doseReport = this.options.generateObservations === true && isDoseReport(dataset);
    if (doseReport) this.hasDoseReport = true;
    const sop = getString(dataset, Tag.SOPInstanceUID);
    const series = getString(dataset, Tag.SeriesInstanceUID);
    const sequence = sop === undefined ? undefined : this.sequences?.get(sop);
    if (sop && series && getString(dataset, Tag.PatientID)) {
      const instance: StudyInstance = sequence === undefined ? { dataset } : { dataset, sequence };
      this.instances.push(sequence === undefined ? { sop, series } : { sop, series, sequence });
      if (doseReport) this.doseReports.push(instance);
      this.reader.add(instance);
      return;
    }
    const missing = !sop
      ? { tag: Tag.SOPInstanceUID, keyword: 'SOPInstanceUID' }
      : !series
        ? { tag: Tag.SeriesInstanceUID, keyword: 'SeriesInstanceUID' }
        : { tag: Tag.PatientID, keyword: 'PatientID' };
    this.failures.push({
      category: 'bad-dicom-data',
      reason: `Instance has no ${missing.keyword} ${tagLabel(missing.tag)}; it is left out of the ImagingStudy`,
      study: this.study,
      ...(series ? { series } : {}),
      ...(sop ? { instance: sop } : {}),
      tag: tagLabel(missing.tag),
      ...(sequence !== undefined ? { sequence } : {}),
    });
  }

  result(): ScreenedStudy {
    return {
      returned: this.returned,
      instances: this.instances,
      failures: this.failures,
      read: this.reader.result(),
      doseReports: this.doseReports,
      hasDoseReport: this.hasDoseReport,
    };
  }
}

export function screenStudy(
  input: { study: string; datasets: readonly DicomJsonDataset[]; sequences?: ReadonlyMap<string, number> },
  options: MappingOptions,
): ScreenedStudy {
  const screener = new StudyScreener(input.study, options, input.sequences);
  for (const dataset of input.datasets) screener.add(dataset);
  return screener.result();
}

/**
 * The identity of the Patient the study's data names (from the instance stored last that is usable), for
 * the caller to search before planning; undefined when no instance is usable.
 */
export function studyPatientIdentity(screened: ScreenedStudy, options: MappingOptions): PatientIdentifier | undefined {
  const winner = screened.read.winner;
  return winner && patientIdentifier(winner.instance.dataset, options);
}
