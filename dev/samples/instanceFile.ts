// Writes realistic, small Part-10 files (Explicit VR Little Endian, 8x8 16-bit pixels) with dcmjs.
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { writePart10, type DcmjsAttribute, type DcmjsDict } from '../dicom-server/dcmjs.js';
import { toDcmjsAttribute } from '../dicom-server/metadata.js';
import { uid } from './uid.js';

export interface InstanceSpec {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  patientId: string;
  /** DICOM PN form, e.g. 'Doe^Jane' */
  patientName: string;
  patientSex?: 'M' | 'F' | 'O';
  /** YYYYMMDD */
  birthDate?: string;
  /** CT and MR get their image storage SOP class; anything else gets Secondary Capture. */
  modality: string;
  /** YYYYMMDD */
  studyDate?: string;
  /** HHMMSS */
  studyTime?: string;
  accessionNumber?: string;
  studyDescription?: string;
  referringPhysicianName?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  instanceNumber?: number;
  bodyPart?: string;
  /** Attributes to add or override (DICOM JSON). */
  extra?: DicomJsonDataset;
}

export const SopClass = {
  CTImageStorage: '1.2.840.10008.5.1.4.1.1.2',
  MRImageStorage: '1.2.840.10008.5.1.4.1.1.4',
  SecondaryCaptureImageStorage: '1.2.840.10008.5.1.4.1.1.7',
} as const;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = uid('dicom-cast-functions', 'samples', 'implementation');

export function sopClassFor(modality: string): string {
  if (modality === 'CT') return SopClass.CTImageStorage;
  if (modality === 'MR') return SopClass.MRImageStorage;
  return SopClass.SecondaryCaptureImageStorage;
}

export function makeInstanceFile(spec: InstanceSpec): Buffer {
  const sopClass = sopClassFor(spec.modality);
  const studyDate = spec.studyDate ?? '20240115';
  const studyTime = spec.studyTime ?? '093000';
  const instanceNumber = spec.instanceNumber ?? 1;
  const meta: DcmjsDict = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': str('UI', sopClass),
    '00020003': str('UI', spec.sopUid),
    '00020010': str('UI', EXPLICIT_VR_LITTLE_ENDIAN),
    '00020012': str('UI', IMPLEMENTATION_CLASS_UID),
    '00020013': str('SH', 'DCMCAST_SAMPLES'),
  };
  const dataset: DcmjsDict = {
    '00080005': str('CS', 'ISO_IR 192'),
    '00080008': { vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    '00080016': str('UI', sopClass),
    '00080018': str('UI', spec.sopUid),
    '00080020': str('DA', studyDate),
    '00080021': str('DA', studyDate),
    '00080023': str('DA', studyDate),
    '00080030': str('TM', studyTime),
    '00080031': str('TM', studyTime),
    '00080033': str('TM', studyTime),
    '00080050': str('SH', spec.accessionNumber ?? ''),
    '00080060': str('CS', spec.modality),
    '00080070': str('LO', 'Contoso Imaging'),
    '00080080': str('LO', 'Contoso General Hospital'),
    '00080090': { vr: 'PN', Value: [{ Alphabetic: spec.referringPhysicianName ?? 'Referring^Rita^^Dr.' }] },
    '00081030': str('LO', spec.studyDescription ?? ''),
    '0008103E': str('LO', spec.seriesDescription ?? ''),
    '00100010': { vr: 'PN', Value: [{ Alphabetic: spec.patientName }] },
    '00100020': str('LO', spec.patientId),
    '00100030': str('DA', spec.birthDate ?? ''),
    '00100040': str('CS', spec.patientSex ?? ''),
    '00180015': str('CS', spec.bodyPart ?? ''),
    '00180050': { vr: 'DS', Value: [5] },
    '0020000D': str('UI', spec.studyUid),
    '0020000E': str('UI', spec.seriesUid),
    '00200010': str('SH', '1'),
    '00200011': { vr: 'IS', Value: [spec.seriesNumber ?? 1] },
    '00200013': { vr: 'IS', Value: [instanceNumber] },
    '00200032': { vr: 'DS', Value: [-100, -100, instanceNumber * 5] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': str('CS', 'MONOCHROME2'),
    '00280010': { vr: 'US', Value: [8] },
    '00280011': { vr: 'US', Value: [8] },
    '00280030': { vr: 'DS', Value: [0.5, 0.5] },
    '00280100': { vr: 'US', Value: [16] },
    '00280101': { vr: 'US', Value: [12] },
    '00280102': { vr: 'US', Value: [11] },
    '00280103': { vr: 'US', Value: [0] },
    '7FE00010': { vr: 'OW', Value: [pixelData(instanceNumber)] },
  };
  for (const [tag, attribute] of Object.entries(spec.extra ?? {})) {
    dataset[tag.toUpperCase()] = toDcmjsAttribute(attribute);
  }
  return writePart10(meta, dataset);
}

function str(vr: string, value: string): DcmjsAttribute {
  return { vr, Value: [value] };
}

/** A gradient, so each instance's pixels differ a little. */
function pixelData(seed: number): ArrayBuffer {
  const pixels = new Uint16Array(64);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 64 + seed * 7) & 0x0fff;
  return pixels.buffer;
}
