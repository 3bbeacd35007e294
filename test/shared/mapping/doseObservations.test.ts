import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation, ObservationComponent } from '@medplum/fhirtypes';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import {
  doseObservationIdentity,
  doseObservationKind,
  isDoseReport,
  toDoseObservations,
  type DoseObservationContext,
} from '../../../shared/mapping/doseObservations.js';
import { validateR4 } from '../../../shared/validation/index.js';
import {
  C,
  RadiopharmaceuticalRadiationDoseSrStorage,
  U,
  ctDoseContent,
  radiopharmaceuticalContent,
  roundTrip,
  srDataset,
  xRayDoseContent,
  type ContentSpec,
  type SrSpec,
} from '../../support/doseReports.js';
import { emptyPaths } from '../../support/mappingFixtures.js';

const dcm = 'http://dicom.nema.org/resources/ontology/DCM';
const sct = 'http://snomed.info/sct';
const ucum = 'http://unitsofmeasure.org';
const loinc = 'http://loinc.org';

const context: DoseObservationContext = {
  studyUid: '1.2.3',
  patientReference: 'Patient/p1',
  imagingStudyReference: 'ImagingStudy/s1',
};
const lenient = { enforceValidation: false };

const base = { studyUid: '1.2.3', seriesUid: '1.2.3.9', sopUid: '1.2.3.9.1' };
const ctSpec = (content: ContentSpec[], extra: Partial<SrSpec> = {}): SrSpec => ({
  ...base,
  title: C.xRayDoseReport,
  content,
  ...extra,
});
const twoEvents = ctDoseContent(
  [
    { uid: '1.2.3.100.1', ctdiVol: '12.5', dlp: '250.1' },
    { uid: '1.2.3.100.2', ctdiVol: 8, dlp: 160, region: C.abdomen },
  ],
  '410.1',
);

function map(dataset: DicomJsonDataset, options = lenient, ctx = context) {
  return toDoseObservations(dataset, ctx, options);
}

function component(code: string, display: string, system = dcm): Pick<ObservationComponent, 'code'> {
  return { code: { coding: [{ system, code, display }] } };
}

describe('isDoseReport', () => {
  const rows: [string, SrSpec['title'], boolean][] = [
    ['113701 X-Ray Radiation Dose Report', C.xRayDoseReport, true],
    ['113500 Radiopharmaceutical Radiation Dose Report', C.radiopharmaceuticalDoseReport, true],
    ['designator in lower case', ['113701', 'dcm', 'X-Ray Radiation Dose Report'], true],
    ['another document title', ['18748-4', 'LN', 'Diagnostic imaging report'], false],
    ['the right code in another scheme', ['113701', '99LOCAL', 'X'], false],
  ];
  for (const [name, title, expected] of rows) {
    it(name, () => assert.equal(isDoseReport(srDataset(ctSpec([], { title }))), expected));
  }
  it('an image is not', () => assert.equal(isDoseReport({ '00080060': { vr: 'CS', Value: ['CT'] } }), false));
});

describe('toDoseObservations: CT dose report (TID 10011), read back from Part-10', () => {
  const { observations, issues } = map(roundTrip(ctSpec(twoEvents, { accessionNumber: 'ACC-7' })));
  const [summary, first, second] = observations;

  it('gives the summary and one Observation per irradiation event', () => {
    assert.equal(observations.length, 3);
    assert.deepEqual(issues, []);
    assert.deepEqual(observations.map(doseObservationKind), ['summary', 'event', 'event']);
    assert.deepEqual(observations.map(doseObservationIdentity), [
      'urn:oid:1.2.3.9.1',
      'urn:oid:1.2.3.100.1',
      'urn:oid:1.2.3.100.2',
    ]);
  });

  it('dose summary: identifiers, status, code, subject, partOf and components with UCUM units', () => {
    assert.deepEqual(summary, {
      resourceType: 'Observation',
      identifier: [
        { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.9.1' },
        {
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
          value: 'ACC-7',
        },
      ],
      status: 'preliminary',
      code: { coding: [{ system: loinc, code: '73569-6', display: 'Radiation exposure and protection information' }] },
      subject: { reference: 'Patient/p1' },
      partOf: [{ reference: 'ImagingStudy/s1' }],
      component: [
        { ...component('113812', 'Total Number of Irradiation Events'), valueInteger: 2 },
        {
          ...component('113813', 'CT Dose Length Product Total'),
          valueQuantity: { value: 410.1, unit: 'mGy.cm', system: ucum, code: 'mGy.cm' },
        },
        {
          ...component('113830', 'Mean CTDIvol'),
          valueQuantity: { value: 12.5, unit: 'mGy', system: ucum, code: 'mGy' },
        },
        { ...component('113830', 'Mean CTDIvol'), valueQuantity: { value: 8, unit: 'mGy', system: ucum, code: 'mGy' } },
      ],
    });
  });

  it('irradiation events: code 113852, event UID identifier, partOf, subject, bodySite, components', () => {
    assert.deepEqual(first, {
      resourceType: 'Observation',
      identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.100.1' }],
      status: 'preliminary',
      code: { coding: [{ system: dcm, code: '113852', display: 'Irradiation Event' }] },
      subject: { reference: 'Patient/p1' },
      partOf: [{ reference: 'ImagingStudy/s1' }],
      bodySite: { coding: [{ system: sct, code: 'T-D3000', display: 'Chest' }] },
      component: [
        {
          ...component('113830', 'Mean CTDIvol'),
          valueQuantity: { value: 12.5, unit: 'mGy', system: ucum, code: 'mGy' },
        },
        {
          ...component('113835', 'CTDIw Phantom Type'),
          valueCodeableConcept: { coding: [{ system: dcm, code: '113691', display: 'IEC Body Dosimetry Phantom' }] },
        },
        {
          ...component('113838', 'DLP'),
          valueQuantity: { value: 250.1, unit: 'mGy.cm', system: ucum, code: 'mGy.cm' },
        },
      ],
    });
    assert.deepEqual(second?.bodySite, { coding: [{ system: sct, code: '818981001', display: 'Abdomen' }] });
    assert.equal(second?.component?.[2]?.valueQuantity?.value, 160);
  });

  it('every Observation is valid R4 and has no empty values', () => {
    for (const observation of observations) {
      assert.deepEqual(validateR4(observation), [], JSON.stringify(observation));
      assert.deepEqual(emptyPaths(observation), []);
    }
  });

  it('is stable: the same SR gives the same resources (a replay updates, never duplicates)', () => {
    assert.deepEqual(map(roundTrip(ctSpec(twoEvents, { accessionNumber: 'ACC-7' }))).observations, observations);
  });
});

describe('toDoseObservations: X-Ray dose report (TID 10001)', () => {
  const { observations, issues } = map(roundTrip(ctSpec(xRayDoseContent('1.2.3.200.1'))));
  const [summary, event] = observations;

  it('summary components: every accumulated value with its unit', () => {
    assert.deepEqual(issues, []);
    assert.deepEqual(
      summary?.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity ?? c.valueInteger]),
      [
        ['113725', { value: 0.0123, unit: 'Gy', system: ucum, code: 'Gy' }],
        ['113722', { value: 0.00015, unit: 'Gy.m2', system: ucum, code: 'Gy.m2' }],
        ['113726', { value: 0.00012, unit: 'Gy.m2', system: ucum, code: 'Gy.m2' }],
        ['113727', { value: 0.00003, unit: 'Gy.m2', system: ucum, code: 'Gy.m2' }],
        ['113730', { value: 95.5, unit: 's', system: ucum, code: 's' }],
        ['113731', 12],
        ['111637', { value: 1.2, unit: 'mGy', system: ucum, code: 'mGy' }],
      ],
    );
  });

  it('one event from 113706 with its Irradiation Event UID and target region; no unmapped components', () => {
    assert.equal(doseObservationIdentity(event as Observation), 'urn:oid:1.2.3.200.1');
    assert.deepEqual(event?.bodySite, { coding: [{ system: sct, code: '818981001', display: 'Abdomen' }] });
    assert.equal(event?.component, undefined);
    for (const observation of observations) assert.deepEqual(validateR4(observation), []);
  });
});

describe('toDoseObservations: radiopharmaceutical dose report (TID 10021)', () => {
  const spec = ctSpec(radiopharmaceuticalContent('1.2.3.300.1'), {
    title: C.radiopharmaceuticalDoseReport,
    sopClass: RadiopharmaceuticalRadiationDoseSrStorage,
  });
  const { observations } = map(roundTrip(spec));
  const [summary, event] = observations;

  it('summary: agent and radionuclide as strings (legacy SRT code too), activity, route, volume', () => {
    assert.deepEqual(summary?.component, [
      { ...component('349358000', 'Radiopharmaceutical agent', sct), valueString: 'Fluorodeoxyglucose F^18^' },
      { ...component('89457008', 'Radionuclide', sct), valueString: '^18^Fluorine' },
      {
        ...component('113507', 'Administered activity'),
        valueQuantity: { value: 350, unit: 'MBq', system: ucum, code: 'MBq' },
      },
      {
        ...component('410675002', 'Route of administration', sct),
        valueCodeableConcept: { coding: [{ system: sct, code: '47625008', display: 'Intravenous route' }] },
      },
      {
        ...component('123005', 'Radiopharmaceutical Volume'),
        valueQuantity: { value: 4.5, unit: 'cm3', system: ucum, code: 'cm3' },
      },
    ]);
  });

  it('the administration is an event, identified by its 113503 administration event UID', () => {
    assert.equal(doseObservationIdentity(event as Observation), 'urn:oid:1.2.3.300.1');
    for (const observation of observations) assert.deepEqual(validateR4(observation), []);
  });
});

describe('toDoseObservations: what is read and what is skipped', () => {
  const event = (children: ContentSpec[]): ContentSpec => ({ type: 'CONTAINER', concept: C.ctAcquisition, children });
  const uidItem = (uid: string): ContentSpec => ({ type: 'UIDREF', concept: C.eventUid, uid });
  const ctdi = (value: string | number, units?: SrSpec['title']): ContentSpec => ({
    type: 'CONTAINER',
    concept: C.ctDose,
    children: [{ type: 'NUM', concept: C.meanCtdiVol, value, ...(units ? { units } : {}) }],
  });

  type Row = [string, ContentSpec[], (observations: Observation[]) => void];
  const rows: Row[] = [
    [
      'an SR without content gives the summary alone',
      [],
      (o) => assert.deepEqual(o.map(doseObservationKind), ['summary']),
    ],
    [
      'an event without an Irradiation Event UID gives no event Observation',
      [event([ctdi('5', U.mGy)])],
      (o) => assert.equal(o.length, 1),
    ],
    [
      'the same event UID twice gives one event',
      [event([uidItem('1.2.3.5'), ctdi('5', U.mGy)]), event([uidItem('1.2.3.5'), ctdi('6', U.mGy)])],
      (o) => assert.equal(o.length, 2),
    ],
    [
      'an event container nested deeper is found; its items are its own',
      [
        {
          type: 'CONTAINER',
          concept: ['999', '99LOCAL', 'Wrapper'],
          children: [event([uidItem('1.2.3.6'), ctdi('7', U.mGy), event([uidItem('1.2.3.7'), ctdi('9', U.mGy)])])],
        },
      ],
      (o) => {
        assert.deepEqual(o.map(doseObservationIdentity), ['urn:oid:1.2.3.9.1', 'urn:oid:1.2.3.6', 'urn:oid:1.2.3.7']);
        assert.deepEqual(
          o[1]?.component?.map((c) => c.valueQuantity?.value),
          [7],
        );
        assert.deepEqual(
          o[2]?.component?.map((c) => c.valueQuantity?.value),
          [9],
        );
      },
    ],
    [
      'units that are not UCUM: unit text only',
      [event([uidItem('1.2.3.8'), ctdi('5', ['MGY', '99LOCAL', 'milligray'])])],
      (o) => assert.deepEqual(o[1]?.component?.[0]?.valueQuantity, { value: 5, unit: 'milligray' }),
    ],
    [
      'no units: the value alone',
      [event([uidItem('1.2.3.8'), ctdi('5')])],
      (o) => assert.deepEqual(o[1]?.component?.[0]?.valueQuantity, { value: 5 }),
    ],
    [
      'a numeric value as a JSON number and as a string with exponent and padding',
      [event([uidItem('1.2.3.8'), ctdi(' 1.5e1 ', U.mGy), ctdi(3, U.mGy)])],
      (o) =>
        assert.deepEqual(
          o[1]?.component?.map((c) => c.valueQuantity?.value),
          [15, 3],
        ),
    ],
  ];
  for (const [name, content, check] of rows) {
    it(name, () => {
      const result = map(srDataset(ctSpec(content)));
      assert.deepEqual(result.issues, []);
      check(result.observations);
      for (const observation of result.observations) assert.deepEqual(validateR4(observation), []);
    });
  }

  it('takes the accession from the study when given, else from the SR', () => {
    const dataset = srDataset(ctSpec([], { accessionNumber: 'SR-ACC' }));
    const accession = (observation: Observation | undefined) => observation?.identifier?.[1]?.value;
    assert.equal(accession(map(dataset).observations[0]), 'SR-ACC');
    assert.equal(accession(map(dataset, lenient, { ...context, accession: 'STUDY-ACC' }).observations[0]), 'STUDY-ACC');
    const none = srDataset(ctSpec([], { extra: { '00080050': { vr: 'SH' } } }));
    assert.equal(map(none).observations[0]?.identifier?.length, 1);
  });

  it('not a dose report: nothing', () => {
    const result = map(srDataset(ctSpec(twoEvents, { title: ['18748-4', 'LN', 'Diagnostic imaging report'] })));
    assert.deepEqual(result, { observations: [], issues: [] });
  });
});

describe('toDoseObservations: tag validation policy', () => {
  const bad: ContentSpec[] = [
    {
      type: 'CONTAINER',
      concept: C.ctAcquisition,
      children: [
        { type: 'UIDREF', concept: C.eventUid, uid: '1.2.3.8' },
        { type: 'NUM', concept: C.meanCtdiVol, value: 'twelve', units: U.mGy },
        { type: 'NUM', concept: C.dlp, value: '20', units: U.mGyCm },
      ],
    },
    {
      type: 'CONTAINER',
      concept: C.ctAccumulated,
      children: [{ type: 'NUM', concept: C.totalEvents, value: '1.5', units: U.events }],
    },
  ];

  it('an invalid value is skipped with a warning naming the tag, the value and the item', () => {
    const { observations, issues } = map(srDataset(ctSpec(bad)));
    assert.equal(observations.length, 2);
    assert.deepEqual(
      observations[1]?.component?.map((c) => c.code.coding?.[0]?.code),
      ['113838'],
    );
    assert.equal(observations[0]?.component, undefined);
    assert.deepEqual(
      issues.map((issue) => [issue.severity, issue.tag, issue.keyword, issue.value, issue.instance]),
      [
        ['warning', '(0040,A30A)', 'NumericValue', 'twelve', '1.2.3.9.1'],
        ['warning', '(0040,A30A)', 'NumericValue', '1.5', '1.2.3.9.1'],
      ],
    );
    assert.match(issues[0]?.reason ?? '', /not a number \(113830 Mean CTDIvol at content\[0\]\.content\[1\]\)/);
    assert.match(issues[1]?.reason ?? '', /not an integer \(113812 Total Number of Irradiation Events/);
  });

  it('an invalid event UID is a warning and gives no event', () => {
    const content: ContentSpec[] = [
      {
        type: 'CONTAINER',
        concept: C.ctAcquisition,
        children: [{ type: 'UIDREF', concept: C.eventUid, uid: '1.02.x' }],
      },
    ];
    const { observations, issues } = map(srDataset(ctSpec(content)));
    assert.equal(observations.length, 1);
    assert.deepEqual(
      issues.map((issue) => issue.keyword),
      ['UID'],
    );
  });

  it('with EnforceValidationOfTagValues the SR gives no Observations and the issues are errors', () => {
    const { observations, issues } = map(srDataset(ctSpec(bad)), { enforceValidation: true });
    assert.deepEqual(observations, []);
    assert.deepEqual(
      issues.map((issue) => issue.severity),
      ['error', 'error'],
    );
  });

  it('an SR without SOPInstanceUID gives no Observations and an error', () => {
    const { observations, issues } = map(srDataset(ctSpec(twoEvents, { extra: { '00080018': { vr: 'UI' } } })));
    assert.deepEqual(observations, []);
    assert.deepEqual(
      issues.map((issue) => [issue.severity, issue.keyword]),
      [['error', 'SOPInstanceUID']],
    );
  });
});
