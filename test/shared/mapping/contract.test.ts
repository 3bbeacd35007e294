/**
 * mapping.md parts B and C, row by row, through the writer's own builder (buildStudyTransaction): one table
 * row per contract row, each checking the resources the writer would send, and every resource checked
 * against FHIR R4. The unit tests beside this file cover each function's edge cases in more depth.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, ImagingStudySeries, Patient, Resource } from '@medplum/fhirtypes';
import { Tag, type DicomJsonAttribute, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import type { FhirStudyState, StudyPlan } from '../../../shared/mapping/transaction/plan.js';
import { buildStudyTransaction } from '../../../shared/mapping/transaction/studyTransaction.js';
import type { MappingOptions, TagIssue } from '../../../shared/mapping/types.js';
import { validateR4 } from '../../../shared/validation/index.js';
import { C, ctDoseContent, srDataset } from '../../support/doseReports.js';
import {
  attr,
  codeItem,
  ctImage,
  instance,
  options as baseOptions,
  pn,
  studyUid,
} from '../../support/mappingFixtures.js';
import { bundleOf } from '../../support/studyPlans.js';

const options: MappingOptions = { ...baseOptions, generateObservations: true };
const dcm = 'http://dicom.nema.org/resources/ontology/DCM';
const sct = 'http://snomed.info/sct';
type Tags = Record<string, DicomJsonAttribute | null>;

interface Mapped {
  plan: StudyPlan;
  patient: Patient | undefined;
  study: ImagingStudy | undefined;
  series: ImagingStudySeries | undefined;
  warnings: TagIssue[];
}

function mapDatasets(
  datasets: DicomJsonDataset[],
  state: FhirStudyState = {},
  settings: MappingOptions = options,
  applyDemographics = true,
): Mapped {
  const plan = buildStudyTransaction({ study: studyUid, datasets, state, applyDemographics }, settings);
  const resources = (bundleOf(plan)?.entry ?? []).map((entry) => entry.resource).filter((r): r is Resource => !!r);
  for (const resource of resources) assert.deepEqual(validateR4(resource), [], JSON.stringify(resource));
  const study = resources.find((r): r is ImagingStudy => r.resourceType === 'ImagingStudy');
  return {
    plan,
    patient: resources.find((r): r is Patient => r.resourceType === 'Patient'),
    study,
    series: study?.series?.[0],
    warnings: plan.warnings,
  };
}

/** One CT instance with these tags (null deletes one), on an empty FHIR server. */
const one = (tags: Tags, settings: MappingOptions = options) =>
  mapDatasets([instance('1.2.3.1', '1.2.3.1.1', tags)], {}, settings);

const warned = (mapped: Mapped) => mapped.warnings.map((warning) => warning.keyword);

type Row = [row: string, check: () => void];

function table(name: string, rows: Row[]): void {
  describe(name, () => {
    for (const [row, check] of rows) it(row, check);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Existing FHIR content, as DICOM Cast left it

const dicomCastStudy: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 'dc',
  meta: { versionId: '3', source: options.endpoint },
  status: 'available',
  subject: { reference: 'Patient/old' },
  identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }],
  note: [{ text: 'Old description' }],
  modality: [
    { system: 'DCM', code: 'US' },
    { system: 'DCM', code: 'CT' },
  ],
  series: [
    {
      uid: '1.2.3.1',
      modality: { system: 'DCM', code: 'CT' },
      instance: [{ uid: '1.2.3.1.1', sopClass: { code: ctImage } }],
    },
  ],
};
const dicomCastState: FhirStudyState = {
  imagingStudy: dicomCastStudy,
  endpoint: {
    resourceType: 'Endpoint',
    id: 'e',
    status: 'active',
    connectionType: { code: 'dicom-wado-rs' },
    payloadType: [{ text: 'DICOM WADO-RS' }],
    address: options.endpoint,
  },
  patient: { resourceType: 'Patient', id: 'old', identifier: [{ value: 'PID-1' }] },
};

table('B. Where we differ from DICOM Cast', [
  [
    'modality, series.modality: system http://dicom.nema.org/resources/ontology/DCM',
    () => {
      const { study, series } = one({});
      assert.deepEqual(study?.modality, [{ system: dcm, code: 'CT' }]);
      assert.deepEqual(series?.modality, { system: dcm, code: 'CT' });
    },
  ],
  [
    'study modality: the current series’ modalities in order of first appearance (nothing piled up)',
    () => {
      const { study } = mapDatasets(
        [
          instance('1.2.3.1', '1.2.3.1.1'),
          instance('1.2.3.2', '1.2.3.2.1', { [Tag.Modality]: attr('CS', 'MR'), [Tag.SeriesNumber]: attr('IS', 2) }),
          instance('1.2.3.3', '1.2.3.3.1', { [Tag.Modality]: attr('CS', 'CT'), [Tag.SeriesNumber]: attr('IS', 3) }),
        ],
        dicomCastState,
      );
      assert.deepEqual(study?.modality, [
        { system: dcm, code: 'CT' },
        { system: dcm, code: 'MR' },
      ]);
    },
  ],
  [
    'instance.sopClass: urn:ietf:rfc:3986 / urn:oid:<uid>; DICOM Cast’s {code} instances matched by uid, rewritten',
    () => {
      const { study } = mapDatasets([instance('1.2.3.1', '1.2.3.1.1')], dicomCastState);
      assert.deepEqual(study?.series?.[0]?.instance, [
        { uid: '1.2.3.1.1', sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${ctImage}` } },
      ]);
    },
  ],
  [
    'StudyDescription → description (replaced); DICOM Cast’s notes left alone',
    () => {
      const { study } = mapDatasets(
        [instance('1.2.3.1', '1.2.3.1.1', { [Tag.StudyDescription]: attr('LO', 'New description') })],
        dicomCastState,
      );
      assert.equal(study?.description, 'New description');
      assert.deepEqual(study?.note, [{ text: 'Old description' }]);
    },
  ],
  [
    'numberOfSeries, numberOfInstances, series.numberOfInstances: counts of what the resource holds',
    () => {
      const { study } = mapDatasets([
        instance('1.2.3.1', '1.2.3.1.1'),
        instance('1.2.3.1', '1.2.3.1.2'),
        instance('1.2.3.2', '1.2.3.2.1'),
      ]);
      assert.equal(study?.numberOfSeries, 2);
      assert.equal(study?.numberOfInstances, 3);
      assert.deepEqual(
        study?.series?.map((series) => series.numberOfInstances),
        [2, 1],
      );
    },
  ],
  [
    'started when the time is missing: the date alone',
    () => assert.equal(one({ [Tag.StudyDate]: attr('DA', '20230415') }).study?.started, '2023-04-15'),
  ],
  [
    'subject when the PatientID changes: the Patient of the current data',
    () => {
      const moved = [instance('1.2.3.1', '1.2.3.1.1', { [Tag.PatientID]: attr('LO', 'PID-2') })];
      const { patient: _patient, ...withoutPatient } = dicomCastState;
      const created = mapDatasets(moved, withoutPatient);
      assert.deepEqual(created.patient?.identifier, [{ value: 'PID-2' }]);
      assert.equal(created.study?.subject.reference, bundleOf(created.plan)?.entry?.[0]?.fullUrl);
      const found = mapDatasets(moved, {
        ...dicomCastState,
        patient: { resourceType: 'Patient', id: 'p2', identifier: [{ value: 'PID-2' }] },
      });
      assert.equal(found.study?.subject.reference, 'Patient/p2');
    },
  ],
  [
    '`update` action: the Patient is re-synced (birthDate too)',
    () => {
      const tags = { [Tag.PatientBirthDate]: attr('DA', '19800102') };
      const existing = {
        ...dicomCastState,
        patient: { ...dicomCastState.patient, birthDate: '1970-01-01' } as Patient,
      };
      const create = mapDatasets([instance('1.2.3.1', '1.2.3.1.1', tags)], existing, options, false);
      assert.equal(create.patient, undefined, 'a create does not touch an existing Patient’s birthDate');
      const update = mapDatasets([instance('1.2.3.1', '1.2.3.1.1', tags)], existing, options, true);
      assert.equal(update.patient?.birthDate, '1980-01-02');
    },
  ],
  [
    'replaying a dose report: the same Observations (stable identifiers), never new ones',
    () => {
      const sr = srDataset({
        studyUid,
        seriesUid: '1.2.3.9',
        sopUid: '1.2.3.9.1',
        patientId: 'PID-1',
        title: C.xRayDoseReport,
        content: ctDoseContent([{ uid: '1.2.3.100.1', ctdiVol: 1, dlp: 2 }], 2),
      });
      const first = mapDatasets([sr]);
      const second = mapDatasets([sr]);
      const identities = (mapped: Mapped) =>
        bundleOf(mapped.plan)
          ?.entry?.filter((e) => e.resource?.resourceType === 'Observation')
          .map((e) => e.request);
      assert.deepEqual(identities(second), identities(first));
      assert.equal(identities(first)?.length, 2);
    },
  ],
]);

// ---------------------------------------------------------------------------------------------------------

table('C. Patient', [
  [
    'name: Alphabetic split on ^ into family, given (given + middle words), prefix, suffix; use usual',
    () =>
      assert.deepEqual(one({ [Tag.PatientName]: pn(' Doe ^John Paul^Peter^Dr. Prof.^Jr. ') }).patient?.name, [
        { use: 'usual', family: 'Doe', given: ['John', 'Paul', 'Peter'], prefix: ['Dr.', 'Prof.'], suffix: ['Jr.'] },
      ]),
  ],
  [
    'name: empty parts omitted',
    () =>
      assert.deepEqual(one({ [Tag.PatientName]: pn('^John^^^') }).patient?.name, [{ use: 'usual', given: ['John'] }]),
  ],
  [
    'name: only the Ideographic group → text',
    () =>
      assert.deepEqual(one({ [Tag.PatientName]: attr('PN', { Ideographic: '山田^太郎' }) }).patient?.name, [
        { use: 'usual', text: '山田 太郎' },
      ]),
  ],
  [
    'name: other names of an existing Patient are kept; the usual one replaced',
    () => {
      const patient: Patient = {
        resourceType: 'Patient',
        id: 'old',
        identifier: [{ value: 'PID-1' }],
        name: [
          { use: 'official', family: 'Official' },
          { use: 'usual', family: 'Old' },
        ],
      };
      const mapped = mapDatasets([instance('1.2.3.1', '1.2.3.1.1', { [Tag.PatientName]: pn('New^Name') })], {
        patient,
      });
      assert.deepEqual(mapped.patient?.name, [
        { use: 'official', family: 'Official' },
        { use: 'usual', family: 'New', given: ['Name'] },
      ]);
    },
  ],
  ['gender: M → male', () => assert.equal(one({ [Tag.PatientSex]: attr('CS', 'M') }).patient?.gender, 'male')],
  ['gender: F → female', () => assert.equal(one({ [Tag.PatientSex]: attr('CS', 'F') }).patient?.gender, 'female')],
  ['gender: O → other', () => assert.equal(one({ [Tag.PatientSex]: attr('CS', 'O') }).patient?.gender, 'other')],
  [
    'gender: empty → removed',
    () => {
      const patient: Patient = { resourceType: 'Patient', id: 'old', identifier: [{ value: 'PID-1' }], gender: 'male' };
      const mapped = mapDatasets([instance('1.2.3.1', '1.2.3.1.1', { [Tag.PatientSex]: attr('CS') })], { patient });
      assert.equal(mapped.patient?.gender, undefined);
    },
  ],
  [
    'gender: any other value → tag warning, gender unchanged',
    () => {
      const patient: Patient = { resourceType: 'Patient', id: 'old', identifier: [{ value: 'PID-1' }], gender: 'male' };
      const mapped = mapDatasets([instance('1.2.3.1', '1.2.3.1.1', { [Tag.PatientSex]: attr('CS', 'X') })], {
        patient,
      });
      assert.equal(mapped.patient, undefined, 'nothing to write');
      assert.deepEqual(warned(mapped), ['PatientSex']);
    },
  ],
  [
    'birthDate: YYYYMMDD → YYYY-MM-DD',
    () => assert.equal(one({ [Tag.PatientBirthDate]: attr('DA', '19800102') }).patient?.birthDate, '1980-01-02'),
  ],
  [
    'birthDate: the old YYYY.MM.DD',
    () => assert.equal(one({ [Tag.PatientBirthDate]: attr('DA', '1980.01.02') }).patient?.birthDate, '1980-01-02'),
  ],
  [
    'birthDate: invalid → tag warning',
    () => {
      const mapped = one({ [Tag.PatientBirthDate]: attr('DA', '19801302') });
      assert.equal(mapped.patient?.birthDate, undefined);
      assert.deepEqual(warned(mapped), ['PatientBirthDate']);
    },
  ],
]);

table('C. ImagingStudy: study level', [
  ['status: available', () => assert.equal(one({}).study?.status, 'available')],
  [
    'subject: the Patient; endpoint: the Endpoint (other endpoints kept)',
    () => {
      const mapped = mapDatasets([instance('1.2.3.1', '1.2.3.1.1')], {
        ...dicomCastState,
        imagingStudy: { ...dicomCastStudy, endpoint: [{ reference: 'Endpoint/other' }] },
      });
      assert.equal(mapped.study?.subject.reference, 'Patient/old');
      assert.deepEqual(mapped.study?.endpoint, [{ reference: 'Endpoint/other' }, { reference: 'Endpoint/e' }]);
    },
  ],
  [
    'started: StudyDate + StudyTime + TimezoneOffsetFromUTC',
    () =>
      assert.equal(
        one({
          [Tag.StudyDate]: attr('DA', '20230415'),
          [Tag.StudyTime]: attr('TM', '143015'),
          [Tag.TimezoneOffsetFromUTC]: attr('SH', '-0500'),
        }).study?.started,
        '2023-04-15T14:30:15-05:00',
      ),
  ],
  [
    'description: StudyDescription',
    () => assert.equal(one({ [Tag.StudyDescription]: attr('LO', 'CT') }).study?.description, 'CT'),
  ],
  [
    'referrer: ReferringPhysicianName as "Given Family"',
    () =>
      assert.deepEqual(one({ [Tag.ReferringPhysicianName]: pn('Smith^Anna^B') }).study?.referrer, {
        display: 'Anna B Smith',
      }),
  ],
  [
    'interpreter: one {display} per NameOfPhysiciansReadingStudy value',
    () =>
      assert.deepEqual(
        one({ [Tag.NameOfPhysiciansReadingStudy]: attr('PN', { Alphabetic: 'A^B' }, { Alphabetic: 'C^D' }) }).study
          ?.interpreter,
        [{ display: 'B A' }, { display: 'D C' }],
      ),
  ],
  [
    'procedureCode: a CodeableConcept per ProcedureCodeSequence item',
    () =>
      assert.deepEqual(
        one({ [Tag.ProcedureCodeSequence]: attr('SQ', codeItem('P1', 'LN', 'Chest'), codeItem('P2', 'SCT', 'Head')) })
          .study?.procedureCode,
        [
          { coding: [{ system: 'http://loinc.org', code: 'P1', display: 'Chest' }] },
          { coding: [{ system: sct, code: 'P2', display: 'Head' }] },
        ],
      ),
  ],
  [
    'reasonCode: a CodeableConcept per ReasonForPerformedProcedureCodeSequence item',
    () =>
      assert.deepEqual(
        one({ [Tag.ReasonForPerformedProcedureCodeSequence]: attr('SQ', codeItem('R1', 'SRT', 'Pain')) }).study
          ?.reasonCode,
        [{ coding: [{ system: sct, code: 'R1', display: 'Pain' }] }],
      ),
  ],
  [
    'accession: an ACSN identifier from AccessionNumber, only when not empty',
    () => {
      assert.deepEqual(one({ [Tag.AccessionNumber]: attr('SH', 'A1') }).study?.identifier?.[1], {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
        value: 'A1',
      });
      assert.equal(one({ [Tag.AccessionNumber]: attr('SH', '') }).study?.identifier?.length, 1);
    },
  ],
  [
    'study attributes that disagree: the instance stored last (highest sequence) wins',
    () => {
      const plan = buildStudyTransaction(
        {
          study: studyUid,
          datasets: [
            instance('1.2.3.1', '1.2.3.1.9', { [Tag.StudyDescription]: attr('LO', 'older') }),
            instance('1.2.3.1', '1.2.3.1.1', { [Tag.StudyDescription]: attr('LO', 'newer') }),
          ],
          sequences: new Map([
            ['1.2.3.1.9', 1],
            ['1.2.3.1.1', 2],
          ]),
          state: {},
          applyDemographics: true,
        },
        options,
      );
      const study = bundleOf(plan)?.entry?.find((e) => e.resource?.resourceType === 'ImagingStudy')
        ?.resource as ImagingStudy;
      assert.equal(study.description, 'newer');
    },
  ],
]);

table('C. ImagingStudy: series and instances', [
  ['series.uid: SeriesInstanceUID', () => assert.equal(one({}).series?.uid, '1.2.3.1')],
  [
    'series.number: SeriesNumber (string)',
    () => assert.equal(one({ [Tag.SeriesNumber]: attr('IS', '4') }).series?.number, 4),
  ],
  [
    'series.number: SeriesNumber (JSON number)',
    () => assert.equal(one({ [Tag.SeriesNumber]: attr('IS', 4) }).series?.number, 4),
  ],
  [
    'series.number: negative → tag warning, omitted',
    () => {
      const mapped = one({ [Tag.SeriesNumber]: attr('IS', '-4') });
      assert.equal(mapped.series?.number, undefined);
      assert.deepEqual(warned(mapped), ['SeriesNumber']);
    },
  ],
  [
    'series.number: unparsable → tag warning, omitted',
    () => assert.deepEqual(warned(one({ [Tag.SeriesNumber]: attr('IS', 'four') })), ['SeriesNumber']),
  ],
  [
    'series.modality: Modality; a multi-valued Modality counts by its first value',
    () =>
      assert.deepEqual(one({ [Tag.Modality]: attr('CS', 'MR', 'CT') }).series?.modality, { system: dcm, code: 'MR' }),
  ],
  [
    'series.modality: missing → that instance fails (tag error), the others are written',
    () => {
      const mapped = mapDatasets([
        instance('1.2.3.1', '1.2.3.1.1'),
        instance('1.2.3.1', '1.2.3.1.2', { [Tag.Modality]: null }),
      ]);
      assert.equal(mapped.study?.numberOfInstances, 1);
      assert.deepEqual(
        mapped.plan.failures.map((f) => [f.instance, f.tag]),
        [['1.2.3.1.2', '(0008,0060)']],
      );
    },
  ],
  [
    'series.description: SeriesDescription',
    () => assert.equal(one({ [Tag.SeriesDescription]: attr('LO', 'Axial') }).series?.description, 'Axial'),
  ],
  [
    'series.started: SeriesDate + SeriesTime + the study’s offset',
    () =>
      assert.equal(
        one({
          [Tag.SeriesDate]: attr('DA', '20230416'),
          [Tag.SeriesTime]: attr('TM', '0815'),
          [Tag.TimezoneOffsetFromUTC]: attr('SH', '+0830'),
        }).series?.started,
        '2023-04-16T08:15:00+08:30',
      ),
  ],
  [
    'series.bodySite: a defined term → SNOMED code and meaning',
    () =>
      assert.deepEqual(one({ [Tag.BodyPartExamined]: attr('CS', 'CHEST') }).series?.bodySite, {
        system: sct,
        code: '816094009',
        display: 'Chest',
      }),
  ],
  [
    'series.bodySite: a term listed without a code → {display}',
    () =>
      assert.deepEqual(one({ [Tag.BodyPartExamined]: attr('CS', 'FETALHEART') }).series?.bodySite, {
        display: 'FETALHEART',
      }),
  ],
  [
    'series.bodySite: a value the table does not list → {display}, no invented code',
    () =>
      assert.deepEqual(one({ [Tag.BodyPartExamined]: attr('CS', 'ELBOWPIT') }).series?.bodySite, {
        display: 'ELBOWPIT',
      }),
  ],
  ...(
    [
      ['R', { system: sct, code: '24028007', display: 'Right' }],
      ['L', { system: sct, code: '7771000', display: 'Left' }],
      ['B', { system: sct, code: '51440002', display: 'Right and left' }],
      ['U', undefined],
    ] as const
  ).map(([value, coding]): Row => [
    `series.laterality: Laterality ${value}`,
    () => assert.deepEqual(one({ [Tag.Laterality]: attr('CS', value) }).series?.laterality, coding),
  ]),
  [
    'series.laterality: ImageLaterality when Laterality is absent',
    () => assert.equal(one({ [Tag.ImageLaterality]: attr('CS', 'L') }).series?.laterality?.code, '7771000'),
  ],
  [
    'series.performer: [{actor: {display}}] per PerformingPhysicianName value',
    () =>
      assert.deepEqual(one({ [Tag.PerformingPhysicianName]: pn('Tech^Tom') }).series?.performer, [
        { actor: { display: 'Tom Tech' } },
      ]),
  ],
  ['series.instance.uid: SOPInstanceUID', () => assert.equal(one({}).series?.instance?.[0]?.uid, '1.2.3.1.1')],
  [
    'series.instance.sopClass: missing → tag error for that instance',
    () => {
      const mapped = mapDatasets([
        instance('1.2.3.1', '1.2.3.1.1'),
        instance('1.2.3.1', '1.2.3.1.2', { [Tag.SOPClassUID]: null }),
      ]);
      assert.deepEqual(
        mapped.plan.failures.map((f) => f.tag),
        ['(0008,0016)'],
      );
    },
  ],
  [
    'series.instance.number: InstanceNumber (unsignedInt)',
    () => assert.equal(one({ [Tag.InstanceNumber]: attr('IS', '12') }).series?.instance?.[0]?.number, 12),
  ],
  [
    'series.instance.title: ConceptNameCodeSequence CodeMeaning, else DocumentTitle',
    () => {
      assert.equal(
        one({
          [Tag.ConceptNameCodeSequence]: attr('SQ', codeItem('113701', 'DCM', 'X-Ray Radiation Dose Report')),
          [Tag.DocumentTitle]: attr('ST', 'ignored'),
        }).series?.instance?.[0]?.title,
        'X-Ray Radiation Dose Report',
      );
      assert.equal(one({ [Tag.DocumentTitle]: attr('ST', 'Report') }).series?.instance?.[0]?.title, 'Report');
    },
  ],
  [
    'order: existing series and instances keep their order; new ones are appended',
    () => {
      const existing: ImagingStudy = {
        ...dicomCastStudy,
        series: [
          { uid: '1.2.3.5', modality: { code: 'CT' }, instance: [{ uid: '1.2.3.5.1', sopClass: { code: ctImage } }] },
          { uid: '1.2.3.1', modality: { code: 'CT' }, instance: [{ uid: '1.2.3.1.1', sopClass: { code: ctImage } }] },
        ],
      };
      const { study } = mapDatasets(
        [instance('1.2.3.1', '1.2.3.1.1'), instance('1.2.3.5', '1.2.3.5.1'), instance('1.2.3.2', '1.2.3.2.1')],
        { ...dicomCastState, imagingStudy: existing },
      );
      assert.deepEqual(
        study?.series?.map((s) => s.uid),
        ['1.2.3.5', '1.2.3.1', '1.2.3.2'],
      );
    },
  ],
]);

// ---------------------------------------------------------------------------------------------------------

const started = (time: string | undefined, offset?: string | number, settings: MappingOptions = options) =>
  one(
    {
      [Tag.StudyDate]: attr('DA', '20230415'),
      ...(time === undefined ? {} : { [Tag.StudyTime]: attr('TM', time) }),
      ...(offset === undefined ? {} : { [Tag.TimezoneOffsetFromUTC]: attr('SH', offset) }),
    },
    settings,
  );

table('C. Dates, times, offsets', [
  ['DA YYYYMMDD → YYYY-MM-DD', () => assert.equal(started(undefined).study?.started, '2023-04-15')],
  ['TM HH → hh:00:00', () => assert.equal(started('14').study?.started, '2023-04-15T14:00:00+00:00')],
  ['TM HHMM → hh:mm:00', () => assert.equal(started('1430').study?.started, '2023-04-15T14:30:00+00:00')],
  ['TM HHMMSS', () => assert.equal(started('143015').study?.started, '2023-04-15T14:30:15+00:00')],
  ['TM HHMMSS.FFFFFF', () => assert.equal(started('143015.123456').study?.started, '2023-04-15T14:30:15.123456+00:00')],
  ['TM the old HH:MM:SS', () => assert.equal(started('14:30:15').study?.started, '2023-04-15T14:30:15+00:00')],
  ['offset +1400', () => assert.equal(started('14', '+1400').study?.started, '2023-04-15T14:00:00+14:00')],
  ['offset -0800', () => assert.equal(started('14', '-0800').study?.started, '2023-04-15T14:00:00-08:00')],
  ['offset +0830', () => assert.equal(started('14', '+0830').study?.started, '2023-04-15T14:00:00+08:30')],
  [
    'offset absent → DicomCast:DefaultTimezoneOffset',
    () =>
      assert.equal(
        started('14', undefined, { ...options, defaultTimezoneOffset: '-05:00' }).study?.started,
        '2023-04-15T14:00:00-05:00',
      ),
  ],
  [
    'offset invalid (0) → tag warning, then the default',
    () => {
      const mapped = started('14', '0');
      assert.equal(mapped.study?.started, '2023-04-15T14:00:00+00:00');
      assert.deepEqual(warned(mapped), ['TimezoneOffsetFromUTC']);
    },
  ],
  [
    'no date → element omitted',
    () => assert.equal(one({ [Tag.StudyTime]: attr('TM', '1430') }).study?.started, undefined),
  ],
]);

table('C. Codes', [
  ...(
    [
      ['DCM', dcm],
      ['SCT', sct],
      ['SRT', sct],
      ['LN', 'http://loinc.org'],
      ['UCUM', 'http://unitsofmeasure.org'],
      ['srt', sct],
    ] as const
  ).map(([designator, system]): Row => [
    `CodingSchemeDesignator ${designator} → ${system}`,
    () =>
      assert.equal(
        one({ [Tag.ProcedureCodeSequence]: attr('SQ', codeItem('X1', designator, 'x')) }).study?.procedureCode?.[0]
          ?.coding?.[0]?.system,
        system,
      ),
  ]),
  [
    'another designator → urn:oid:<CodingSchemeUID>, else no system',
    () => {
      const code = (uid?: string) =>
        one({ [Tag.ProcedureCodeSequence]: attr('SQ', codeItem('X1', '99LOCAL', 'x', uid)) }).study?.procedureCode?.[0]
          ?.coding?.[0];
      assert.deepEqual(code('1.2.3.4'), { system: 'urn:oid:1.2.3.4', code: 'X1', display: 'x' });
      assert.deepEqual(code(), { code: 'X1', display: 'x' });
    },
  ],
]);

table('Input: DICOM JSON (PS3.18 Annex F)', [
  [
    'keys in lower case are accepted',
    () => assert.equal(one({ '0008103e': attr('LO', 'lower case') }).series?.description, 'lower case'),
  ],
  [
    'a missing Value is an empty attribute',
    () => {
      const mapped = one({ [Tag.StudyDescription]: attr('LO'), [Tag.SeriesNumber]: attr('IS') });
      assert.equal(mapped.study?.description, undefined);
      assert.deepEqual(mapped.warnings, []);
    },
  ],
  [
    'IS as JSON numbers or strings',
    () => {
      assert.equal(one({ [Tag.InstanceNumber]: attr('IS', 3) }).series?.instance?.[0]?.number, 3);
      assert.equal(one({ [Tag.InstanceNumber]: attr('IS', ' 3 ') }).series?.instance?.[0]?.number, 3);
    },
  ],
  [
    'PN values are objects; a bare string is read as Alphabetic',
    () =>
      assert.deepEqual(one({ [Tag.PatientName]: attr('PN', 'Doe^Jane') }).patient?.name, [
        { use: 'usual', family: 'Doe', given: ['Jane'] },
      ]),
  ],
  [
    'multi-valued strings use the first value',
    () => assert.equal(one({ [Tag.StudyDescription]: attr('LO', 'first', 'second') }).study?.description, 'first'),
  ],
  [
    'a PatientID sent as a number',
    () => assert.deepEqual(one({ [Tag.PatientID]: attr('LO', 42) }).patient?.identifier, [{ value: '42' }]),
  ],
]);
