import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BundleEntry, Identifier, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { Tag, type DicomJsonDataset } from '../../../../shared/dicomweb/dicomJson.js';
import { doseObservationIdentity } from '../../../../shared/mapping/doseObservations.js';
import {
  needsObservationSearch,
  observationSearchParams,
} from '../../../../shared/mapping/transaction/doseObservationEntries.js';
import {
  localFullUrl,
  type FhirStudyState,
  type StudyTransactionInput,
} from '../../../../shared/mapping/transaction/plan.js';
import { buildStudyRemoval } from '../../../../shared/mapping/transaction/removal.js';
import { screenStudy, studyPatientIdentity } from '../../../../shared/mapping/transaction/screen.js';
import { buildStudyTransaction } from '../../../../shared/mapping/transaction/studyTransaction.js';
import type { MappingOptions } from '../../../../shared/mapping/types.js';
import { validateR4 } from '../../../../shared/validation/index.js';
import { XRayRadiationDoseSrStorage, type CtEvent } from '../../../support/doseReports.js';
import { ctDoseReport } from '../../../support/ctDoseReport.js';
import { attr, instance, options as baseOptions, studyUid } from '../../../support/mappingFixtures.js';
import { bundleOf, fencedPositions, stateAfter } from '../../../support/studyPlans.js';

const options: MappingOptions = { ...baseOptions, generateObservations: true };
const studyRef = 'ImagingStudy/s1';

const doseSr = (events: CtEvent[], sop = '1.2.3.9.1', dlpTotal: number | string = 100) =>
  ctDoseReport(events, dlpTotal, { sop });
const ct = (sop: string, extra: Parameters<typeof instance>[2] = {}) => instance('1.2.3.1', sop, extra);
const events: CtEvent[] = [
  { uid: '1.2.3.100.1', ctdiVol: 10, dlp: 50 },
  { uid: '1.2.3.100.2', ctdiVol: 12, dlp: 60 },
];

function build(datasets: DicomJsonDataset[], state: FhirStudyState = {}, extra: Partial<StudyTransactionInput> = {}) {
  return buildStudyTransaction(
    { study: studyUid, datasets, state, applyDemographics: !state.patient, validate: validateR4, ...extra },
    options,
  );
}

const methods = (entries: BundleEntry[] | undefined) =>
  (entries ?? []).map(
    (entry) => `${entry.request?.method ?? ''} ${entry.resource?.resourceType ?? entry.request?.url ?? ''}`,
  );

describe('buildStudyTransaction: an empty FHIR server', () => {
  const plan = build([ct('1.2.3.1.1'), doseSr(events)]);
  const entries = bundleOf(plan)?.entry ?? [];

  it('creates the Endpoint, Patient, ImagingStudy and the dose Observations, each conditionally', () => {
    assert.equal(plan.action, 'write');
    assert.deepEqual(methods(entries), [
      'POST Endpoint',
      'POST Patient',
      'POST ImagingStudy',
      'POST Observation',
      'POST Observation',
      'POST Observation',
    ]);
    assert.deepEqual(fencedPositions(plan).creates, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(fencedPositions(plan).fence, { endpoint: 0, patient: 1, imagingStudy: 2 });
    assert.deepEqual(plan.observations, { created: 3, updated: 0, deleted: 0, unchanged: 0 });
    assert.deepEqual(
      entries.slice(3).map((entry) => entry.request?.ifNoneExist),
      [
        'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3.9.1',
        'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3.100.1',
        'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3.100.2',
      ],
    );
  });

  it('links the resources through the entries’ fullUrls', () => {
    const [endpoint, patient, study, summary] = entries;
    const imagingStudy = study?.resource as ImagingStudy;
    assert.equal(imagingStudy.subject.reference, patient?.fullUrl);
    assert.deepEqual(imagingStudy.endpoint, [{ reference: endpoint?.fullUrl }]);
    const observation = summary?.resource as Observation;
    assert.deepEqual(observation.partOf, [{ reference: study?.fullUrl }]);
    assert.equal(observation.subject?.reference, patient?.fullUrl);
    for (const entry of entries)
      assert.match(entry.fullUrl ?? '', /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab]/);
  });

  it('every resource is valid R4', () => {
    for (const entry of entries) assert.deepEqual(validateR4(entry.resource as Resource), []);
  });

  it('is deterministic (the same input gives the same Bundle)', () => {
    assert.deepEqual(bundleOf(build([doseSr(events), ct('1.2.3.1.1')])), bundleOf(plan));
    assert.equal(localFullUrl('ImagingStudy', studyUid), entries[2]?.fullUrl);
  });

  it('GenerateObservations off: no Observations', () => {
    const off = buildStudyTransaction(
      { study: studyUid, datasets: [ct('1.2.3.1.1'), doseSr(events)], state: {}, applyDemographics: true },
      { ...options, generateObservations: false },
    );
    assert.deepEqual(methods(bundleOf(off)?.entry), ['POST Endpoint', 'POST Patient', 'POST ImagingStudy']);
  });
});

describe('buildStudyTransaction: dose Observations against what FHIR holds', () => {
  const first = build([ct('1.2.3.1.1'), doseSr(events)]);
  const state = stateAfter(bundleOf(first)?.entry ?? []);
  const observations = state.observations ?? [];

  it('a replay changes nothing: no duplicates, no writes', () => {
    const replay = build([ct('1.2.3.1.1'), doseSr(events)], state);
    assert.equal(replay.action, 'unchanged');
    assert.deepEqual(replay.observations, { created: 0, updated: 0, deleted: 0, unchanged: 3 });
  });

  it('a changed dose report updates its Observations with If-Match, and the ImagingStudy fences the write', () => {
    const changed = build(
      [ct('1.2.3.1.1'), doseSr([events[0] as CtEvent, { ...events[1], dlp: 99 } as CtEvent], '1.2.3.9.1', 149)],
      state,
    );
    assert.equal(changed.action, 'write');
    assert.deepEqual(methods(bundleOf(changed)?.entry), ['PUT ImagingStudy', 'PUT Observation', 'PUT Observation']);
    assert.deepEqual(
      bundleOf(changed)?.entry?.map((entry) => [entry.request?.url, entry.request?.ifMatch]),
      [
        ['ImagingStudy/id2', 'W/"1"'],
        ['Observation/id3', 'W/"1"'],
        ['Observation/id5', 'W/"1"'],
      ],
    );
    assert.deepEqual(changed.observations, { created: 0, updated: 2, deleted: 0, unchanged: 1 });
  });

  it('an event gone from the report is deleted, a new one created', () => {
    const plan = build(
      [ct('1.2.3.1.1'), doseSr([events[0] as CtEvent, { uid: '1.2.3.100.3', ctdiVol: 1, dlp: 2 }])],
      state,
    );
    assert.deepEqual(methods(bundleOf(plan)?.entry).sort(), [
      'DELETE Observation/id5',
      'POST Observation',
      'PUT ImagingStudy',
      'PUT Observation',
    ]);
  });

  it('the SR instance deleted: exactly its Observations are deleted, with If-Match', () => {
    const others: Observation = {
      resourceType: 'Observation',
      id: 'not-ours',
      status: 'final',
      code: { text: 'measurement' },
      identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:9.9' }],
      partOf: [{ reference: 'ImagingStudy/id2' }],
    };
    const plan = build([ct('1.2.3.1.1')], { ...state, observations: [...observations, others] });
    // (the Patient changes too: its name came from the SR, the instance stored last)
    assert.deepEqual(methods(bundleOf(plan)?.entry), [
      'PUT Patient',
      'PUT ImagingStudy',
      'DELETE Observation/id3',
      'DELETE Observation/id4',
      'DELETE Observation/id5',
    ]);
    assert.ok(
      bundleOf(plan)
        ?.entry?.slice(2)
        .every((entry) => entry.request?.ifMatch === 'W/"1"'),
    );
  });

  it('keeps what others added to an Observation (status, notes), and only touches its own partOf', () => {
    const edited = observations.map((o) =>
      o.id === 'id3'
        ? {
            ...o,
            status: 'final' as const,
            note: [{ text: 'checked' }],
            partOf: [...(o.partOf ?? []), { reference: 'Procedure/p' }],
          }
        : o,
    );
    const plan = build([ct('1.2.3.1.1'), doseSr(events, '1.2.3.9.1', 101)], { ...state, observations: edited });
    const summary = bundleOf(plan)?.entry?.find((entry) => entry.request?.url === 'Observation/id3')
      ?.resource as Observation;
    assert.equal(summary.status, 'final');
    assert.deepEqual(summary.note, [{ text: 'checked' }]);
    assert.deepEqual(summary.partOf, [{ reference: 'ImagingStudy/id2' }, { reference: 'Procedure/p' }]);
    assert.equal(summary.component?.[1]?.valueQuantity?.value, 101);
  });

  it('the accession is the identifier typed v2-0203 ACSN (mapping.md part A): another system’s ACSN is kept, not used', () => {
    const foreign: Identifier = { type: { coding: [{ system: 'urn:example:types', code: 'ACSN' }] }, value: 'OTHER' };
    const withForeign = <T extends ImagingStudy | Observation>(resource: T): T => ({
      ...resource,
      identifier: [foreign, ...(resource.identifier ?? [])],
    });
    const plan = build([ct('1.2.3.1.1'), doseSr(events, '1.2.3.9.1', 101)], {
      ...state,
      imagingStudy: withForeign(state.imagingStudy as ImagingStudy),
      observations: observations.map(withForeign),
    });
    const summary = bundleOf(plan)?.entry?.find((entry) => entry.request?.url === 'Observation/id3')
      ?.resource as Observation;
    assert.deepEqual(summary.identifier, [
      foreign,
      { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.9.1' },
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
        value: 'ACC-DOSE',
      },
    ]);
  });

  it('an instance that cannot be read blocks deletions (it may be the SR whose Observations they are)', () => {
    const unreadable = ct('1.2.3.1.7', { [Tag.Modality]: null });
    const plan = build([ct('1.2.3.1.1'), unreadable], state);
    assert.ok(!methods(bundleOf(plan)?.entry).some((method) => method.startsWith('DELETE')));
    assert.equal(plan.failures[0]?.tag, '(0008,0060)');
  });

  it('a study another server owns: Observations are created and updated, never deleted', () => {
    const foreign: FhirStudyState = {
      ...state,
      imagingStudy: { ...(state.imagingStudy as ImagingStudy), meta: { versionId: '1', source: 'https://other' } },
    };
    const plan = build([ct('1.2.3.1.1')], foreign);
    assert.ok(!methods(bundleOf(plan)?.entry).some((method) => method.startsWith('DELETE')));
  });

  it('DICOM Cast’s leftovers: duplicate summaries and events identified by the SR are cleaned up', () => {
    const summary = observations.find((o) => doseObservationIdentity(o) === 'urn:oid:1.2.3.9.1') as Observation;
    const legacy: Observation[] = [
      { ...summary, id: 'z-dc-2', identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.9.1' }] },
      {
        resourceType: 'Observation',
        id: 'z-dc-event',
        meta: { versionId: '3' },
        status: 'preliminary',
        code: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '113852' }] },
        identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.9.1' }],
        partOf: [{ reference: 'http://fhir.example/ImagingStudy/id2' }],
      },
    ];
    const plan = build([ct('1.2.3.1.1'), doseSr(events)], { ...state, observations: [...observations, ...legacy] });
    assert.deepEqual(methods(bundleOf(plan)?.entry), [
      'PUT ImagingStudy',
      'DELETE Observation/z-dc-2',
      'DELETE Observation/z-dc-event',
    ]);
  });

  it('an Observation that is not valid R4 is left out and recorded; the rest is written', () => {
    const validate = (resource: Resource) =>
      resource.resourceType === 'Observation' && doseObservationIdentity(resource) === 'urn:oid:1.2.3.100.2'
        ? [{ path: 'Observation.component[0]', message: 'broken' }]
        : [];
    const plan = build([ct('1.2.3.1.1'), doseSr(events)], {}, { validate });
    assert.equal(plan.action, 'write');
    assert.equal(methods(bundleOf(plan)?.entry).filter((m) => m === 'POST Observation').length, 2);
    assert.deepEqual(
      plan.failures.map((failure) => [failure.category, failure.resource, failure.problems]),
      [
        [
          'invalid-resource',
          'Observation event urn:oid:1.2.3.100.2',
          [{ path: 'Observation.component[0]', message: 'broken' }],
        ],
      ],
    );
  });

  it('an ImagingStudy that is not valid R4: nothing is sent', () => {
    const validate = (resource: Resource) =>
      resource.resourceType === 'ImagingStudy' ? [{ path: 'ImagingStudy.series[0].uid', message: 'bad' }] : [];
    const plan = build([ct('1.2.3.1.1')], {}, { validate });
    assert.equal(plan.action, 'invalid');
    assert.equal(bundleOf(plan), undefined);
    assert.match(
      plan.failures[0]?.reason ?? '',
      /ImagingStudy urn:oid:1\.2\.3 is not valid FHIR R4: ImagingStudy\.series\[0\]\.uid: bad/,
    );
  });
});

describe('buildStudyTransaction: instances, Patient and the tag policy', () => {
  it('missing PatientID, Modality or SOPClassUID fail that instance only, recorded as bad DICOM data', () => {
    const plan = build([
      ct('1.2.3.1.1'),
      ct('1.2.3.1.2', { [Tag.PatientID]: null }),
      ct('1.2.3.1.3', { [Tag.Modality]: null }),
      ct('1.2.3.1.4', { [Tag.SOPClassUID]: attr('UI') }),
    ]);
    assert.equal(plan.action, 'write');
    assert.equal(plan.instances, 1);
    assert.equal(plan.rejectedInstances, 3);
    assert.deepEqual(
      plan.failures.map((failure) => [failure.category, failure.instance, failure.tag]),
      [
        ['bad-dicom-data', '1.2.3.1.2', '(0010,0020)'],
        ['bad-dicom-data', '1.2.3.1.3', '(0008,0060)'],
        ['bad-dicom-data', '1.2.3.1.4', '(0008,0016)'],
      ],
    );
  });

  it('an invalid optional value is a warning (tag, value); with enforcement it fails the instance', () => {
    const bad = ct('1.2.3.1.2', { [Tag.PatientSex]: attr('CS', 'X'), [Tag.SeriesNumber]: attr('IS', '-1') });
    const lenient = build([bad]);
    assert.equal(lenient.action, 'write');
    assert.deepEqual(lenient.warnings.map((w) => [w.keyword, w.value]).sort(), [
      ['PatientSex', 'X'],
      ['SeriesNumber', '-1'],
    ]);
    assert.deepEqual(lenient.failures, []);

    const strict = buildStudyTransaction(
      { study: studyUid, datasets: [ct('1.2.3.1.1'), bad], state: {}, applyDemographics: true },
      { ...options, enforceValidation: true },
    );
    assert.equal(strict.instances, 1);
    assert.deepEqual(strict.warnings, []);
    assert.deepEqual(strict.failures.map((f) => [f.category, f.instance, f.tag, f.reason]).sort(), [
      ['bad-dicom-data', '1.2.3.1.2', '(0010,0040)', 'not M, F or O: "X"'],
      ['bad-dicom-data', '1.2.3.1.2', '(0020,0011)', 'not an unsigned integer: "-1"'],
    ]);
  });

  it('the Patient comes from the instance stored last that is usable', () => {
    const datasets = [
      ct('1.2.3.1.1', { [Tag.PatientID]: attr('LO', 'OLD') }),
      ct('1.2.3.1.2', { [Tag.PatientID]: attr('LO', 'NEW') }),
      ct('1.2.3.1.3', { [Tag.PatientID]: attr('LO', 'BROKEN'), [Tag.Modality]: null }),
    ];
    const sequences = new Map([
      ['1.2.3.1.1', 5],
      ['1.2.3.1.2', 7],
      ['1.2.3.1.3', 9],
    ]);
    assert.deepEqual(studyPatientIdentity(screenStudy({ study: studyUid, datasets, sequences }, options), options), {
      system: '',
      value: 'NEW',
    });
    const plan = build(datasets, {}, { sequences });
    const patient = bundleOf(plan)?.entry?.[fencedPositions(plan).fence.patient ?? -1]?.resource as Patient;
    assert.deepEqual(patient.identifier, [{ value: 'NEW' }]);
    assert.equal(plan.failures[0]?.sequence, 9);
  });

  it('an existing Patient that does not change is not written; the study points at it', () => {
    const first = build([ct('1.2.3.1.1')]);
    const state = stateAfter(bundleOf(first)?.entry ?? []);
    const again = build([ct('1.2.3.1.1'), ct('1.2.3.1.2')], state);
    assert.deepEqual(methods(bundleOf(again)?.entry), ['PUT ImagingStudy']);
    assert.equal((bundleOf(again)?.entry?.[0]?.resource as ImagingStudy).subject.reference, 'Patient/id1');
  });

  it('no usable instance: keep FHIR as it is; no instance at all: remove', () => {
    assert.equal(build([ct('1.2.3.1.1', { [Tag.PatientID]: null })]).action, 'keep');
    assert.equal(build([]).action, 'remove');
  });
});

describe('needsObservationSearch / observationSearchParams', () => {
  const study = (sopClass: string): ImagingStudy => ({
    resourceType: 'ImagingStudy',
    id: 's1',
    status: 'available',
    subject: { reference: 'Patient/p' },
    series: [{ uid: '1', modality: { code: 'SR' }, instance: [{ uid: '1.1', sopClass: { code: sopClass } }] }],
  });
  const rows: [string, ImagingStudy | undefined, DicomJsonDataset[], MappingOptions, boolean][] = [
    ['a new study: nothing to find', undefined, [doseSr(events)], options, false],
    ['feature off', study('urn:oid:1.2'), [doseSr(events)], { ...options, generateObservations: false }, false],
    ['a current dose report', study('urn:oid:1.2'), [doseSr(events)], options, true],
    ['the study lists an SR instance (our form)', study(`urn:oid:${XRayRadiationDoseSrStorage}`), [], options, true],
    ['the study lists an SR instance (DICOM Cast’s form)', study(XRayRadiationDoseSrStorage), [], options, true],
    ['images only: no extra request', study('urn:oid:1.2.840.10008.5.1.4.1.1.2'), [ct('1.2.3.1.1')], options, false],
  ];
  for (const [name, imagingStudy, datasets, settings, expected] of rows) {
    it(name, () => assert.equal(needsObservationSearch(imagingStudy, datasets, settings), expected));
  }
  it('searches part-of the ImagingStudy', () => {
    assert.deepEqual(observationSearchParams(study('x')), { 'part-of': studyRef });
  });
});

describe('buildStudyRemoval', () => {
  const first = build([ct('1.2.3.1.1'), doseSr(events)]);
  const state = stateAfter(bundleOf(first)?.entry ?? []);
  const owned = {
    ...state,
    imagingStudy: { ...(state.imagingStudy as ImagingStudy), meta: { versionId: '1', source: options.endpoint } },
  };

  it('ours: deletes the ImagingStudy and our Observations part of it', () => {
    const removal = buildStudyRemoval(owned, options);
    assert.equal(removal.action, 'delete');
    assert.deepEqual(methods(bundleOf(removal)?.entry), [
      'DELETE ImagingStudy/id2',
      'DELETE Observation/id3',
      'DELETE Observation/id4',
      'DELETE Observation/id5',
    ]);
    assert.equal(removal.observationsDeleted, 3);
  });

  it('feature off: the ImagingStudy only', () => {
    assert.equal(bundleOf(buildStudyRemoval(owned, { ...options, generateObservations: false }))?.entry?.length, 1);
  });

  it('another server’s study is kept; no study is absent', () => {
    const foreign = {
      ...owned,
      imagingStudy: { ...(owned.imagingStudy as ImagingStudy), meta: { source: 'https://x' } },
    };
    assert.equal(buildStudyRemoval(foreign, options).action, 'not-owned');
    assert.equal(buildStudyRemoval({}, options).action, 'absent');
  });

  it('split: our Observations are deleted first, the ImagingStudy last (an interrupted removal is finished later)', () => {
    const removal = buildStudyRemoval(owned, options, undefined, 1);
    assert.equal(removal.action, 'delete');
    const transaction = removal.action === 'delete' ? removal.transaction : undefined;
    assert.deepEqual(
      transaction?.before.map((part) => methods(part.bundle.entry)),
      [['DELETE Observation/id3'], ['DELETE Observation/id4'], ['DELETE Observation/id5']],
    );
    assert.deepEqual(methods(transaction?.fenced.bundle.entry), ['DELETE ImagingStudy/id2']);
  });
});

describe('buildStudyTransaction: partition, counts, a Patient that fails validation', () => {
  it('a study in a named partition is identified in that partition; the plan counts its instances and series', () => {
    const plan = build([ct('1.2.3.1.1'), instance('1.2.3.2', '1.2.3.2.1')], {}, { partition: 'radiology' });
    assert.equal(plan.action, 'write');
    const study = bundleOf(plan)?.entry?.find((entry) => entry.resource?.resourceType === 'ImagingStudy')?.resource as
      ImagingStudy | undefined;
    assert.deepEqual(study?.identifier?.[0], { system: 'urn:dicom-cast:partition:radiology', value: 'urn:oid:1.2.3' });
    assert.deepEqual([plan.instances, plan.series], [2, 2]);
  });

  it('a Patient that is not valid R4: nothing is sent, the failure names the Patient', () => {
    const validate = (resource: Resource) =>
      resource.resourceType === 'Patient' ? [{ path: 'Patient.name[0]', message: 'bad' }] : [];
    const plan = build([ct('1.2.3.1.1')], {}, { validate });
    assert.equal(plan.action, 'invalid');
    assert.match(plan.failures[0]?.reason ?? '', /^Patient \S*\|PID-1 is not valid FHIR R4: Patient\.name\[0\]: bad/);
  });

  it('a new study whose every instance the mapping rejects: nothing is written, each instance is recorded', () => {
    const plan = build([instance('1.2.3.1', '1.2.3.1.1', { [Tag.Modality]: null })]);
    assert.notEqual(plan.action, 'write');
    assert.equal(plan.rejectedInstances, 1);
    assert.equal(plan.failures[0]?.instance, '1.2.3.1.1');
  });
});
