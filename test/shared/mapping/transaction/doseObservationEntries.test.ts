import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BundleEntry, ImagingStudy, ImagingStudySeries, Observation, Resource } from '@medplum/fhirtypes';
import { Tag, type DicomJsonDataset } from '../../../../shared/dicomweb/dicomJson.js';
import { doseObservationIdentity } from '../../../../shared/mapping/doseObservations.js';
import { needsObservationSearch } from '../../../../shared/mapping/transaction/doseObservationEntries.js';
import type { FhirStudyState, StudyTransactionInput } from '../../../../shared/mapping/transaction/plan.js';
import { buildStudyTransaction } from '../../../../shared/mapping/transaction/studyTransaction.js';
import type { MappingOptions } from '../../../../shared/mapping/types.js';
import { C, XRayRadiationDoseSrStorage, type CtEvent } from '../../../support/doseReports.js';
import { ctDoseReport } from '../../../support/ctDoseReport.js';
import { instance, options as baseOptions, studyUid } from '../../../support/mappingFixtures.js';
import { bundleOf, stateAfter } from '../../../support/studyPlans.js';

/** planDoseObservations: which dose Observations a study's transaction creates, updates and deletes. */
const options: MappingOptions = { ...baseOptions, generateObservations: true };
const ct = (sop: string) => instance('1.2.3.1', sop);
const event1 = { uid: '1.2.3.100.1', ctdiVol: 10, dlp: 50 };
const event2 = { uid: '1.2.3.100.2', ctdiVol: 12, dlp: 60 };

const doseSr = (sop: string, events: CtEvent[], dlpTotal: number | string = 100, extra: DicomJsonDataset = {}) =>
  ctDoseReport(events, dlpTotal, { sop, extra });

function build(
  datasets: DicomJsonDataset[],
  state: FhirStudyState = {},
  extra: Partial<StudyTransactionInput> = {},
  settings: MappingOptions = options,
) {
  return buildStudyTransaction(
    { study: studyUid, datasets, state, applyDemographics: !state.patient, ...extra },
    settings,
  );
}

const entriesOf = (plan: ReturnType<typeof build>): BundleEntry[] => bundleOf(plan)?.entry ?? [];
const requests = (plan: ReturnType<typeof build>) =>
  entriesOf(plan)
    .filter((entry) => entry.request?.url?.startsWith('Observation'))
    .map((entry) => `${entry.request?.method ?? ''} ${entry.request?.url ?? ''}`);
const observationFor = (plan: ReturnType<typeof build>, identity: string) =>
  entriesOf(plan)
    .map((entry) => entry.resource)
    .find(
      (resource): resource is Observation =>
        resource?.resourceType === 'Observation' && doseObservationIdentity(resource) === identity,
    );
const dlpOf = (observation: Observation | undefined) =>
  observation?.component?.find((component) => component.code.coding?.some((coding) => coding.code === C.dlp[0]))
    ?.valueQuantity?.value;

/** FHIR after the first sync of one CT image and the dose report 1.2.3.9.1 with both events. */
const first = build([ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1, event2])]);
const state = stateAfter(entriesOf(first));
const stored = state.observations ?? [];

describe('planDoseObservations: copies of one Observation', () => {
  it('the copy with the lowest id is kept and updated, whatever order the search returned them in', () => {
    const summary = stored.find((o) => doseObservationIdentity(o) === 'urn:oid:1.2.3.9.1') as Observation;
    const copy: Observation = { ...summary, id: 'a-copy' };
    for (const observations of [
      [copy, ...stored],
      [...stored, copy],
    ]) {
      const plan = build([ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1, event2], 101)], { ...state, observations });
      assert.deepEqual(requests(plan), ['DELETE Observation/id3', 'PUT Observation/a-copy']);
      assert.deepEqual(plan.observations, { created: 0, updated: 1, deleted: 1, unchanged: 2 });
    }
  });
});

describe('planDoseObservations: a study FHIR already holds', () => {
  it('a new Observation is created only if the study has none with its identifier (part-of the study)', () => {
    const plan = build(
      [ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1, event2, { ...event1, uid: '1.2.3.100.3' }])],
      state,
    );
    const post = entriesOf(plan).find((entry) => entry.request?.method === 'POST');
    assert.equal(
      post?.request?.ifNoneExist,
      'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3.100.3&part-of=ImagingStudy%2Fid2',
    );
    assert.deepEqual((post?.resource as Observation).partOf, [{ reference: 'ImagingStudy/id2' }]);
  });
});

describe('planDoseObservations: an irradiation event two dose reports list', () => {
  // 1.2.3.9.1 and 1.2.3.9.2 both list event 1, with different DLP values.
  const older = doseSr('1.2.3.9.1', [event1]);
  const newer = doseSr('1.2.3.9.2', [{ ...event1, dlp: 77 }]);

  it('takes the content of the report stored last (highest change-feed sequence), in any input order', () => {
    for (const [sequences, expected] of [
      [
        new Map([
          ['1.2.3.9.1', 5],
          ['1.2.3.9.2', 7],
        ]),
        77,
      ],
      [
        new Map([
          ['1.2.3.9.1', 7],
          ['1.2.3.9.2', 5],
        ]),
        50,
      ],
    ] as const) {
      for (const datasets of [
        [ct('1.2.3.1.1'), older, newer],
        [ct('1.2.3.1.1'), newer, older],
      ]) {
        const plan = build(datasets, {}, { sequences });
        assert.equal(dlpOf(observationFor(plan, 'urn:oid:1.2.3.100.1')), expected);
      }
    }
  });

  it('without sequences, the higher SOP Instance UID, in any input order', () => {
    for (const datasets of [
      [older, newer],
      [newer, older],
    ]) {
      assert.equal(dlpOf(observationFor(build(datasets), 'urn:oid:1.2.3.100.1')), 77);
    }
  });
});

describe('planDoseObservations: a dose report that cannot be used', () => {
  const enforced: MappingOptions = { ...options, enforceValidation: true };

  it('a bad value with enforced validation: none of its Observations, the error recorded with its sequence', () => {
    const plan = build(
      [ct('1.2.3.1.1'), doseSr('1.2.3.9.2', [event1], 'lots'), doseSr('1.2.3.9.3', [event2])],
      {},
      { sequences: new Map([['1.2.3.9.2', 12]]) },
      enforced,
    );
    assert.equal(observationFor(plan, 'urn:oid:1.2.3.9.2'), undefined);
    assert.equal(observationFor(plan, 'urn:oid:1.2.3.100.1'), undefined);
    assert.ok(observationFor(plan, 'urn:oid:1.2.3.9.3'));
    assert.deepEqual(
      plan.failures.map((failure) => [failure.category, failure.instance, failure.sequence]),
      [['bad-dicom-data', '1.2.3.9.2', 12]],
    );
    assert.deepEqual(plan.warnings, []);
  });

  it('… and the Observations FHIR holds for it are not deleted (it may still list them)', () => {
    const plan = build([ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1], 'lots')], state, {}, enforced);
    assert.ok(!requests(plan).some((request) => request.startsWith('DELETE')), requests(plan).join());
  });

  it('the same bad value without enforcement: a warning, the Observations written without it', () => {
    const plan = build([ct('1.2.3.1.1'), doseSr('1.2.3.9.2', [event1], 'lots')]);
    assert.ok(observationFor(plan, 'urn:oid:1.2.3.9.2'));
    assert.deepEqual(
      plan.warnings.map((warning) => [warning.instance, warning.value]),
      [['1.2.3.9.2', 'lots']],
    );
    assert.deepEqual(plan.failures, []);
  });

  it('a dose report the mapping rejects (no Modality) gives no Observation and blocks deletions', () => {
    const rejected = doseSr('1.2.3.9.1', [event1], 100, { [Tag.Modality]: { vr: 'CS' } });
    const fresh = build([ct('1.2.3.1.1'), rejected]);
    assert.deepEqual(requests(fresh), []);
    const again = build([ct('1.2.3.1.1'), rejected], state);
    assert.deepEqual(requests(again), []);
    assert.equal(again.failures[0]?.instance, '1.2.3.9.1');
  });
});

describe('planDoseObservations: what an update keeps and what it takes', () => {
  const summary = stored.find((o) => doseObservationIdentity(o) === 'urn:oid:1.2.3.9.1') as Observation;
  const theirs = { system: 'urn:dicom:uid', value: 'urn:oid:9.9' };

  it('keeps identifiers others added (another urn:dicom:uid one too) and points partOf at the study once', () => {
    const edited: Observation = {
      ...summary,
      identifier: [...(summary.identifier ?? []), theirs],
      partOf: [{ reference: 'http://fhir.example/ImagingStudy/id2' }, { reference: 'Procedure/p' }],
    };
    const observations = stored.map((o) => (o.id === summary.id ? edited : o));
    const plan = build([ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1, event2], 101)], { ...state, observations });
    const written = observationFor(plan, 'urn:oid:1.2.3.9.1');
    assert.deepEqual(written?.identifier, [...(summary.identifier ?? []), theirs]);
    assert.deepEqual(written?.partOf, [{ reference: 'ImagingStudy/id2' }, { reference: 'Procedure/p' }]);
  });

  it('an updated Observation that is not valid R4 is not written, and is recorded', () => {
    const validate = (resource: Resource) =>
      resource.resourceType === 'Observation' && resource.id === summary.id
        ? [{ path: 'Observation', message: 'no' }]
        : [];
    const plan = build([ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1, event2], 101)], state, { validate });
    assert.deepEqual(requests(plan), []);
    assert.deepEqual(
      plan.failures.map((failure) => [failure.category, failure.resource]),
      [['invalid-resource', 'Observation summary urn:oid:1.2.3.9.1']],
    );
    assert.equal(plan.observations.updated, 0);
  });

  it('takes the study’s accession (from the instance stored last), not the dose report’s own', () => {
    const image = instance('1.2.3.1', '1.2.3.1.1', { [Tag.AccessionNumber]: { vr: 'SH', Value: ['ACC-CT'] } });
    const sequences = new Map([
      ['1.2.3.9.1', 5],
      ['1.2.3.1.1', 9],
    ]);
    const plan = build([image, doseSr('1.2.3.9.1', [event1])], {}, { sequences });
    assert.deepEqual(
      observationFor(plan, 'urn:oid:1.2.3.9.1')?.identifier?.map((identifier) => identifier.value),
      ['urn:oid:1.2.3.9.1', 'ACC-CT'],
    );
  });
});

describe('needsObservationSearch: a study FHIR holds', () => {
  const study = (...series: ImagingStudySeries[]): ImagingStudy => ({
    resourceType: 'ImagingStudy',
    id: 's1',
    status: 'available',
    subject: { reference: 'Patient/p' },
    series,
  });
  const sr = { uid: '1.2.3.9.1', sopClass: { code: `urn:oid:${XRayRadiationDoseSrStorage}` } };
  const image = { uid: '1.2.3.1.1', sopClass: { code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' } };

  it('an SR instance among images of one series: search', () => {
    assert.equal(
      needsObservationSearch(study({ uid: '1', modality: { code: 'OT' }, instance: [image, sr] }), [], options),
      true,
    );
  });

  it('series without instances listed, or no series: no search', () => {
    assert.equal(needsObservationSearch(study({ uid: '1', modality: { code: 'SR' } }), [], options), false);
    assert.equal(
      needsObservationSearch({ resourceType: 'ImagingStudy', id: 's1', status: 'available', subject: {} }, [], options),
      false,
    );
  });

  it('a current dose report among images: search', () => {
    assert.equal(needsObservationSearch(study(), [ct('1.2.3.1.1'), doseSr('1.2.3.9.1', [event1])], options), true);
  });
});
