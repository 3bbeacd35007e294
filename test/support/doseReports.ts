// Radiation dose SR documents for tests, laid out as PS3.16 TID 10001/10011 (X-Ray, CT) and TID 10021
// (radiopharmaceutical) lay them out, written to Part-10 with dcmjs and parsed back, so the tests see what a
// real DICOM library produces (VRs, padding, numbers) rather than hand-written JSON.
import type { DicomJsonAttribute, DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { readPart10 } from '../../shared/dicomweb/part10.js';
import { writePart10, type DcmjsDict } from '../../dev/dicom-server/dcmjs.js';
import { toDcmjsAttribute } from '../../dev/dicom-server/metadata.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, uid } from '../../dev/samples/index.js';

export type Code = readonly [value: string, designator: string, meaning: string];

export type ContentSpec =
  | { type: 'CONTAINER'; concept: Code; children: ContentSpec[]; relationship?: string }
  | { type: 'NUM'; concept: Code; value: string | number; units?: Code; relationship?: string }
  | { type: 'CODE'; concept: Code; code: Code; relationship?: string }
  | { type: 'TEXT'; concept: Code; text: string; relationship?: string }
  | { type: 'UIDREF'; concept: Code; uid: string; relationship?: string };

export const XRayRadiationDoseSrStorage = '1.2.840.10008.5.1.4.1.1.88.67';
export const RadiopharmaceuticalRadiationDoseSrStorage = '1.2.840.10008.5.1.4.1.1.88.68';

const str = (vr: string, value: string | number): DicomJsonAttribute => ({ vr, Value: [value] });

export function codeItem([value, designator, meaning]: Code): DicomJsonDataset {
  return { '00080100': str('SH', value), '00080102': str('SH', designator), '00080104': str('LO', meaning) };
}

function codeSequence(code: Code): DicomJsonAttribute {
  return { vr: 'SQ', Value: [codeItem(code)] };
}

export function contentItem(spec: ContentSpec): DicomJsonDataset {
  const item: DicomJsonDataset = {
    '0040A010': str('CS', spec.relationship ?? 'CONTAINS'),
    '0040A040': str('CS', spec.type),
    '0040A043': codeSequence(spec.concept),
  };
  switch (spec.type) {
    case 'CONTAINER':
      item['0040A050'] = str('CS', 'SEPARATE');
      item['0040A730'] = { vr: 'SQ', Value: spec.children.map(contentItem) };
      break;
    case 'NUM':
      item['0040A300'] = {
        vr: 'SQ',
        Value: [
          {
            '0040A30A': str('DS', spec.value),
            ...(spec.units ? { '004008EA': codeSequence(spec.units) } : {}),
          },
        ],
      };
      break;
    case 'CODE':
      item['0040A168'] = codeSequence(spec.code);
      break;
    case 'TEXT':
      item['0040A160'] = str('UT', spec.text);
      break;
    case 'UIDREF':
      item['0040A124'] = str('UI', spec.uid);
      break;
  }
  return item;
}

export interface SrSpec {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  patientId?: string;
  patientName?: string;
  accessionNumber?: string;
  sopClass?: string;
  title: Code;
  content: ContentSpec[];
  seriesNumber?: number;
  instanceNumber?: number;
  /** Attributes to add or override (DICOM JSON). */
  extra?: DicomJsonDataset;
}

/** The SR document as DICOM JSON (SR Document General and Content modules; the root is a CONTAINER). */
export function srDataset(spec: SrSpec): DicomJsonDataset {
  const dataset: DicomJsonDataset = {
    '00080005': str('CS', 'ISO_IR 192'),
    '00080016': str('UI', spec.sopClass ?? XRayRadiationDoseSrStorage),
    '00080018': str('UI', spec.sopUid),
    '00080020': str('DA', '20240115'),
    '00080030': str('TM', '093000'),
    '00080050': str('SH', spec.accessionNumber ?? 'ACC-DOSE'),
    '00080060': str('CS', 'SR'),
    '00080070': str('LO', 'Contoso Imaging'),
    '00080090': { vr: 'PN', Value: [{ Alphabetic: 'Referring^Rita' }] },
    '0008103E': str('LO', 'Dose Report'),
    '00100010': { vr: 'PN', Value: [{ Alphabetic: spec.patientName ?? 'Dose^Patient' }] },
    '00100020': str('LO', spec.patientId ?? 'DOSE-1'),
    '0020000D': str('UI', spec.studyUid),
    '0020000E': str('UI', spec.seriesUid),
    '00200011': str('IS', spec.seriesNumber ?? 99),
    '00200013': str('IS', spec.instanceNumber ?? 1),
    '0040A010': str('CS', 'CONTAINS'),
    '0040A040': str('CS', 'CONTAINER'),
    '0040A043': codeSequence(spec.title),
    '0040A050': str('CS', 'SEPARATE'),
    '0040A491': str('CS', 'COMPLETE'),
    '0040A493': str('CS', 'UNVERIFIED'),
    '0040A730': { vr: 'SQ', Value: spec.content.map(contentItem) },
    ...spec.extra,
  };
  return dataset;
}

/** The SR as a Part-10 file (Explicit VR Little Endian), written by dcmjs. */
export function srFile(spec: SrSpec): Buffer {
  const dataset = srDataset(spec);
  const meta: DcmjsDict = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [spec.sopClass ?? XRayRadiationDoseSrStorage] },
    '00020003': { vr: 'UI', Value: [spec.sopUid] },
    '00020010': { vr: 'UI', Value: [EXPLICIT_VR_LITTLE_ENDIAN] },
    '00020012': { vr: 'UI', Value: [uid('dicom-cast-functions', 'tests', 'implementation')] },
  };
  const dict: DcmjsDict = {};
  for (const [tag, attribute] of Object.entries(dataset)) dict[tag] = toDcmjsAttribute(attribute);
  return writePart10(meta, dict);
}

/** DICOM JSON → Part-10 (dcmjs) → DICOM JSON (the production reader): what a WADO-RS server would return. */
export function roundTrip(spec: SrSpec): DicomJsonDataset {
  return readPart10(srFile(spec));
}

// -------------------------------------------------------------------------------------------------------
// Concepts (PS3.16)

export const C = {
  xRayDoseReport: ['113701', 'DCM', 'X-Ray Radiation Dose Report'],
  radiopharmaceuticalDoseReport: ['113500', 'DCM', 'Radiopharmaceutical Radiation Dose Report'],
  procedureReported: ['121058', 'DCM', 'Procedure reported'],
  ctProcedure: ['P5-08000', 'SRT', 'Computed Tomography X-Ray'],
  projectionProcedure: ['113704', 'DCM', 'Projection X-Ray'],
  ctAccumulated: ['113811', 'DCM', 'CT Accumulated Dose Data'],
  totalEvents: ['113812', 'DCM', 'Total Number of Irradiation Events'],
  dlpTotal: ['113813', 'DCM', 'CT Dose Length Product Total'],
  ctAcquisition: ['113819', 'DCM', 'CT Acquisition'],
  acquisitionProtocol: ['125203', 'DCM', 'Acquisition Protocol'],
  targetRegion: ['123014', 'DCM', 'Target Region'],
  chest: ['T-D3000', 'SRT', 'Chest'],
  abdomen: ['818981001', 'SCT', 'Abdomen'],
  ctAcquisitionType: ['113820', 'DCM', 'CT Acquisition Type'],
  helical: ['P5-08001', 'SRT', 'Spiral Acquisition'],
  eventUid: ['113769', 'DCM', 'Irradiation Event UID'],
  ctDose: ['113829', 'DCM', 'CT Dose'],
  meanCtdiVol: ['113830', 'DCM', 'Mean CTDIvol'],
  phantomType: ['113835', 'DCM', 'CTDIw Phantom Type'],
  bodyPhantom: ['113691', 'DCM', 'IEC Body Dosimetry Phantom'],
  dlp: ['113838', 'DCM', 'DLP'],
  accumulatedXRay: ['113702', 'DCM', 'Accumulated X-Ray Dose Data'],
  accumulatedProjection: ['113704', 'DCM', 'Accumulated Projection X-Ray Dose'],
  doseRpTotal: ['113725', 'DCM', 'Dose (RP) Total'],
  dapTotal: ['113722', 'DCM', 'Dose Area Product Total'],
  fluoroDapTotal: ['113726', 'DCM', 'Fluoro Dose Area Product Total'],
  acquisitionDapTotal: ['113727', 'DCM', 'Acquisition Dose Area Product Total'],
  fluoroTime: ['113730', 'DCM', 'Total Fluoro Time'],
  frames: ['113731', 'DCM', 'Total Number of Radiographic Frames'],
  glandularDose: ['111637', 'DCM', 'Accumulated Average Glandular Dose'],
  xRayEvent: ['113706', 'DCM', 'Irradiation Event X-Ray Data'],
  eventDap: ['122130', 'DCM', 'Dose Area Product'],
  administration: ['113502', 'DCM', 'Radiopharmaceutical Administration'],
  agent: ['349358000', 'SCT', 'Radiopharmaceutical agent'],
  agentLegacy: ['F-61FDB', 'SRT', 'Radiopharmaceutical agent'],
  fdg: ['C-B1031', 'SRT', 'Fluorodeoxyglucose F^18^'],
  radionuclide: ['89457008', 'SCT', 'Radionuclide'],
  fluorine18: ['C-111A1', 'SRT', '^18^Fluorine'],
  administrationEventUid: ['113503', 'DCM', 'Radiopharmaceutical Administration Event UID'],
  activity: ['113507', 'DCM', 'Administered activity'],
  route: ['410675002', 'SCT', 'Route of administration'],
  intravenous: ['47625008', 'SCT', 'Intravenous route'],
  volume: ['123005', 'DCM', 'Radiopharmaceutical Volume'],
} as const satisfies Record<string, Code>;

export const U = {
  mGy: ['mGy', 'UCUM', 'mGy'],
  mGyCm: ['mGy.cm', 'UCUM', 'mGy.cm'],
  gy: ['Gy', 'UCUM', 'Gy'],
  gyM2: ['Gy.m2', 'UCUM', 'Gy.m2'],
  s: ['s', 'UCUM', 's'],
  events: ['{events}', 'UCUM', 'events'],
  frames: ['{frames}', 'UCUM', 'frames'],
  mBq: ['MBq', 'UCUM', 'MBq'],
  cm3: ['cm3', 'UCUM', 'cm3'],
} as const satisfies Record<string, Code>;

export interface CtEvent {
  uid: string;
  ctdiVol: number | string;
  dlp: number | string;
  region?: Code;
}

/** TID 10011 CT Radiation Dose: accumulated data, then one CT Acquisition (TID 10013) per event. */
export function ctDoseContent(events: CtEvent[], dlpTotal: number | string): ContentSpec[] {
  return [
    { type: 'CODE', concept: C.procedureReported, code: C.ctProcedure, relationship: 'HAS CONCEPT MOD' },
    {
      type: 'CONTAINER',
      concept: C.ctAccumulated,
      children: [
        { type: 'NUM', concept: C.totalEvents, value: events.length, units: U.events },
        { type: 'NUM', concept: C.dlpTotal, value: dlpTotal, units: U.mGyCm },
      ],
    },
    ...events.map((event): ContentSpec => ({
      type: 'CONTAINER',
      concept: C.ctAcquisition,
      children: [
        { type: 'TEXT', concept: C.acquisitionProtocol, text: 'Chest routine' },
        { type: 'CODE', concept: C.targetRegion, code: event.region ?? C.chest },
        { type: 'CODE', concept: C.ctAcquisitionType, code: C.helical },
        { type: 'UIDREF', concept: C.eventUid, uid: event.uid },
        {
          type: 'CONTAINER',
          concept: C.ctDose,
          children: [
            { type: 'NUM', concept: C.meanCtdiVol, value: event.ctdiVol, units: U.mGy },
            { type: 'CODE', concept: C.phantomType, code: C.bodyPhantom },
            { type: 'NUM', concept: C.dlp, value: event.dlp, units: U.mGyCm },
          ],
        },
      ],
    })),
  ];
}

/** TID 10001 projection X-Ray: accumulated dose data (TID 10002) and one event (TID 10003). */
export function xRayDoseContent(eventUid: string): ContentSpec[] {
  return [
    { type: 'CODE', concept: C.procedureReported, code: C.projectionProcedure, relationship: 'HAS CONCEPT MOD' },
    {
      type: 'CONTAINER',
      concept: C.accumulatedXRay,
      children: [
        {
          type: 'CONTAINER',
          concept: C.accumulatedProjection,
          children: [
            { type: 'NUM', concept: C.doseRpTotal, value: '0.0123', units: U.gy },
            { type: 'NUM', concept: C.dapTotal, value: '1.5E-4', units: U.gyM2 },
            { type: 'NUM', concept: C.fluoroDapTotal, value: '0.00012', units: U.gyM2 },
            { type: 'NUM', concept: C.acquisitionDapTotal, value: '0.00003', units: U.gyM2 },
            { type: 'NUM', concept: C.fluoroTime, value: '95.5', units: U.s },
            { type: 'NUM', concept: C.frames, value: '12', units: U.frames },
            { type: 'NUM', concept: C.glandularDose, value: '1.2', units: U.mGy },
          ],
        },
      ],
    },
    {
      type: 'CONTAINER',
      concept: C.xRayEvent,
      children: [
        { type: 'UIDREF', concept: C.eventUid, uid: eventUid },
        { type: 'CODE', concept: C.targetRegion, code: C.abdomen },
        { type: 'NUM', concept: C.eventDap, value: '0.00003', units: U.gyM2 },
      ],
    },
  ];
}

/** TID 10021 Radiopharmaceutical Radiation Dose with one administration (TID 10022); the agent coded the old way. */
export function radiopharmaceuticalContent(eventUid: string): ContentSpec[] {
  return [
    {
      type: 'CONTAINER',
      concept: C.administration,
      children: [
        { type: 'CODE', concept: C.agentLegacy, code: C.fdg },
        { type: 'CODE', concept: C.radionuclide, code: C.fluorine18 },
        { type: 'UIDREF', concept: C.administrationEventUid, uid: eventUid },
        { type: 'NUM', concept: C.activity, value: 350, units: U.mBq },
        { type: 'CODE', concept: C.route, code: C.intravenous },
        { type: 'NUM', concept: C.volume, value: '4.5', units: U.cm3 },
      ],
    },
  ];
}
