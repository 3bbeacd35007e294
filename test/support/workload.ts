import axios from 'axios';
import type { RunningDicomServer } from '../../dev/dicom-server/index.js';
import { makeInstanceFile, SeededRandom, uid, type InstanceSpec } from '../../dev/samples/index.js';

export type Operation =
  | { kind: 'store'; spec: InstanceSpec }
  | { kind: 'update'; study: string; description: string }
  | { kind: 'updatePatient'; studies: string[]; change: PatientChange }
  | { kind: 'deleteInstance'; study: string; series: string; sop: string }
  | { kind: 'deleteSeries'; study: string; series: string }
  | { kind: 'deleteStudy'; study: string };

/** New demographics for a bulk update: name and sex per study, birth date for every study of the patient. */
export type PatientChange = { name: string; sex: 'M' | 'F' } | { birthDate: string };

interface PatientModel {
  id: string;
  birthDate: string;
}

interface StudyModel {
  uid: string;
  /** The demographics this study's instances carry: a bulk update of one study makes its patient's studies differ. */
  patient: { model: PatientModel; name: string; sex: 'M' | 'F' };
  description: string;
  series: { uid: string; number: number; modality: string; sops: string[] }[];
}

/**
 * A seeded workload of creates, re-stores, bulk updates and deletes across several studies that share patients.
 * Operations are chosen against the DICOM server's *current* state, so deletes hit instances that exist.
 * Bulk updates change a study's description, a study's PatientName and PatientSex (so the studies of one patient
 * disagree, and the newest change-feed entry among them decides the Patient), or a patient's PatientBirthDate in
 * all of its studies (birthDate is only written on `update` actions, so it is kept equal across studies).
 */
export class Workload {
  readonly random: SeededRandom;
  private readonly studies: StudyModel[];
  private updates = 0;

  constructor(seed: number, studyCount = 5, patientCount = 3) {
    this.random = new SeededRandom(seed);
    const patients = Array.from({ length: patientCount }, (_, index) => ({
      model: { id: `PID-${seed}-${index}`, birthDate: `19${50 + index}0101` },
      name: `Patient${index}^Test`,
      sex: index % 2 === 0 ? ('F' as const) : ('M' as const),
    }));
    this.studies = Array.from({ length: studyCount }, (_, studyIndex) => ({
      uid: uid('invariant', seed, studyIndex),
      patient: { ...patients[studyIndex % patientCount]! },
      description: `Study ${studyIndex}`,
      series: Array.from({ length: 3 }, (_, seriesIndex) => ({
        uid: uid('invariant', seed, studyIndex, seriesIndex),
        number: seriesIndex + 1,
        modality: seriesIndex === 2 ? 'MR' : 'CT',
        sops: Array.from({ length: 4 }, (_, sopIndex) => uid('invariant', seed, studyIndex, seriesIndex, sopIndex)),
      })),
    }));
  }

  get studyUids(): string[] {
    return this.studies.map((study) => study.uid);
  }

  next(dicom: RunningDicomServer): Operation {
    const current = dicom.currentInstances();
    const roll = this.random.next();
    const study = this.random.pick(this.studies);
    const held = current.filter((instance) => instance.study === study.uid);
    if (roll < 0.5 || held.length === 0) {
      const series = this.random.pick(study.series);
      const sop = this.random.pick(series.sops);
      return {
        kind: 'store',
        spec: {
          studyUid: study.uid,
          seriesUid: series.uid,
          sopUid: sop,
          patientId: study.patient.model.id,
          patientName: study.patient.name,
          patientSex: study.patient.sex,
          birthDate: study.patient.model.birthDate,
          modality: series.modality,
          studyDescription: study.description,
          seriesNumber: series.number,
          seriesDescription: `Series ${series.number}`,
          instanceNumber: series.sops.indexOf(sop) + 1,
          accessionNumber: `ACC-${study.uid.slice(-6)}`,
        },
      };
    }
    if (roll < 0.56) {
      study.description = `Study ${this.studies.indexOf(study)} rev ${++this.updates}`;
      return { kind: 'update', study: study.uid, description: study.description };
    }
    if (roll < 0.62) return this.patientUpdate(study);
    const victim = this.random.pick(held);
    if (roll < 0.9) return { kind: 'deleteInstance', study: victim.study, series: victim.series, sop: victim.sop };
    if (roll < 0.96) return { kind: 'deleteSeries', study: victim.study, series: victim.series };
    return { kind: 'deleteStudy', study: study.uid };
  }

  private patientUpdate(study: StudyModel): Operation {
    const revision = ++this.updates;
    if (this.random.next() < 0.3) {
      const { model } = study.patient;
      model.birthDate = `19${this.random.int(10, 99)}${String(this.random.int(1, 12)).padStart(2, '0')}15`;
      const studies = this.studies.filter((other) => other.patient.model === model).map((other) => other.uid);
      return { kind: 'updatePatient', studies, change: { birthDate: model.birthDate } };
    }
    study.patient.name = `${study.patient.name.split('^')[0]?.replace(/r\d+$/, '')}r${revision}^Test`;
    study.patient.sex = study.patient.sex === 'F' ? 'M' : 'F';
    return {
      kind: 'updatePatient',
      studies: [study.uid],
      change: { name: study.patient.name, sex: study.patient.sex },
    };
  }
}

/** Carries an operation out on the DICOM server through its public API (STOW, bulk update, DELETE). */
export async function apply(dicom: RunningDicomServer, operation: Operation): Promise<void> {
  switch (operation.kind) {
    case 'store':
      await dicom.storeFiles([makeInstanceFile(operation.spec)]);
      return;
    case 'update':
      await dicom.bulkUpdate([operation.study], { '00081030': { vr: 'LO', Value: [operation.description] } });
      return;
    case 'updatePatient':
      await dicom.bulkUpdate(
        operation.studies,
        'birthDate' in operation.change
          ? { '00100030': { vr: 'DA', Value: [operation.change.birthDate] } }
          : {
              '00100010': { vr: 'PN', Value: [{ Alphabetic: operation.change.name }] },
              '00100040': { vr: 'CS', Value: [operation.change.sex] },
            },
      );
      return;
    case 'deleteInstance':
      await dicom.deleteInstance(operation.study, operation.series, operation.sop);
      return;
    case 'deleteSeries': {
      // Retried: the test may have injected a fault for the next /studies request.
      for (let attempt = 1; ; attempt++) {
        const response = await axios.delete(`${dicom.url}/v2/studies/${operation.study}/series/${operation.series}`, {
          validateStatus: () => true,
        });
        if (response.status === 204 || response.status === 404) return;
        if (attempt === 3) throw new Error(`DELETE series answered ${response.status}`);
      }
    }
    case 'deleteStudy':
      await dicom.deleteStudy(operation.study);
      return;
  }
}
