// Deterministic synthetic studies: the same options always give the same patients, UIDs and values.
import type { InstanceSpec } from './instanceFile.js';
import { SeededRandom } from './random.js';
import { uid } from './uid.js';

export interface SampleStudiesOptions {
  studies: number;
  seriesPerStudy: number;
  instancesPerSeries: number;
  /** Distinct patients the studies are spread over (round robin); default ceil(studies / 2). */
  patients?: number;
  seed?: number;
}

const FAMILY_NAMES = [
  'Smith',
  'García',
  'Nguyen',
  'Müller',
  'Okafor',
  'Kowalski',
  'Tanaka',
  'Silva',
  'Larsen',
  'Haddad',
];
const GIVEN_NAMES: Record<'F' | 'M', readonly string[]> = {
  F: ['Anna', 'Maria', 'Aiko', 'Chloe', 'Fatima', 'Ingrid', 'Zoë'],
  M: ['John', 'Luis', 'Minh', 'Jonas', 'Emeka', 'Piotr', 'Kenji'],
};
const REFERRING_PHYSICIANS = ['House^Gregory^^Dr.', 'Quinn^Michaela^^Dr.', 'Kildare^James^^Dr.', 'Grey^Meredith^^Dr.'];

interface Protocol {
  modality: 'CT' | 'MR';
  bodyPart: string;
  description: string;
  series: readonly string[];
}

const PROTOCOLS: readonly Protocol[] = [
  {
    modality: 'CT',
    bodyPart: 'CHEST',
    description: 'CT CHEST WITHOUT CONTRAST',
    series: ['Axial 1.25mm', 'Coronal MPR', 'Sagittal MPR', 'Lung window'],
  },
  {
    modality: 'CT',
    bodyPart: 'ABDOMEN',
    description: 'CT ABDOMEN PELVIS WITH CONTRAST',
    series: ['Portal venous', 'Arterial', 'Delayed', 'Coronal MPR'],
  },
  {
    modality: 'CT',
    bodyPart: 'HEAD',
    description: 'CT HEAD WITHOUT CONTRAST',
    series: ['Axial brain', 'Axial bone', 'Coronal MPR'],
  },
  {
    modality: 'MR',
    bodyPart: 'BRAIN',
    description: 'MRI BRAIN WITH AND WITHOUT CONTRAST',
    series: ['T1 SAG', 'T2 AX', 'FLAIR AX', 'DWI', 'T1 POST AX'],
  },
  {
    modality: 'MR',
    bodyPart: 'KNEE',
    description: 'MRI KNEE WITHOUT CONTRAST',
    series: ['PD FS SAG', 'PD COR', 'T1 COR', 'T2 FS AX'],
  },
  {
    modality: 'MR',
    bodyPart: 'LSPINE',
    description: 'MRI LUMBAR SPINE WITHOUT CONTRAST',
    series: ['T1 SAG', 'T2 SAG', 'T2 AX', 'STIR SAG'],
  },
];

interface SamplePatient {
  id: string;
  name: string;
  sex: 'F' | 'M';
  birthDate: string;
}

export function makeSampleStudies(options: SampleStudiesOptions): InstanceSpec[] {
  const seed = options.seed ?? 1;
  const random = new SeededRandom(seed);
  const patientCount = Math.max(1, options.patients ?? Math.ceil(options.studies / 2));
  const patients = Array.from({ length: patientCount }, (_, i) => samplePatient(random, seed, i));
  const specs: InstanceSpec[] = [];
  for (let s = 0; s < options.studies; s++) {
    const patient = patients[s % patientCount]!;
    const protocol = random.pick(PROTOCOLS);
    const studyUid = uid('sample-study', seed, s);
    const study = {
      studyUid,
      patientId: patient.id,
      patientName: patient.name,
      patientSex: patient.sex,
      birthDate: patient.birthDate,
      modality: protocol.modality,
      studyDate: `${random.int(2015, 2024)}${pad(random.int(1, 12))}${pad(random.int(1, 28))}`,
      studyTime: `${pad(random.int(7, 19))}${pad(random.int(0, 59))}${pad(random.int(0, 59))}`,
      accessionNumber: `ACC${String(seed * 1_000_000 + s).padStart(8, '0')}`,
      studyDescription: protocol.description,
      referringPhysicianName: random.pick(REFERRING_PHYSICIANS),
      bodyPart: protocol.bodyPart,
    };
    for (let se = 0; se < options.seriesPerStudy; se++) {
      const seriesUid = uid('sample-series', seed, s, se);
      const seriesDescription = protocol.series[se % protocol.series.length]!;
      for (let i = 0; i < options.instancesPerSeries; i++) {
        specs.push({
          ...study,
          seriesUid,
          sopUid: uid('sample-instance', seed, s, se, i),
          seriesNumber: se + 1,
          seriesDescription,
          instanceNumber: i + 1,
        });
      }
    }
  }
  return specs;
}

function samplePatient(random: SeededRandom, seed: number, index: number): SamplePatient {
  const sex = random.next() < 0.5 ? 'F' : 'M';
  return {
    id: `PAT${String(seed).padStart(3, '0')}${String(index).padStart(5, '0')}`,
    name: `${random.pick(FAMILY_NAMES)}^${random.pick(GIVEN_NAMES[sex])}`,
    sex,
    birthDate: `${random.int(1935, 2015)}${pad(random.int(1, 12))}${pad(random.int(1, 28))}`,
  };
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
