import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareInstanceSets,
  compareStudies,
  compareStudy,
  describeDrift,
  type ArchiveStudy,
  type FhirStudy,
} from '../../../shared/drift/studyDrift.js';

const patient = { system: 'urn:oid:1.2.3', value: 'PID-1' };
const archive = (study: string, instances = 3): ArchiveStudy => ({ study, instances, patient });
const fhir = (study: string, instances = 3, overrides: Partial<FhirStudy> = {}): FhirStudy => ({
  study,
  reference: `ImagingStudy/is-${study}`,
  instances,
  owned: true,
  subject: 'Patient/p1',
  subjectIdentifiers: [patient],
  ...overrides,
});

describe('study comparison (pure, shared by the drift sweep and verify)', () => {
  it('finds nothing when both sides agree', () => {
    assert.deepEqual(compareStudy(archive('1.1'), fhir('1.1')), []);
  });

  it('names each kind of drift', () => {
    assert.deepEqual(compareStudy(archive('1.1'), undefined), [
      { kind: 'missing-in-fhir', study: '1.1', archiveInstances: 3 },
    ]);
    assert.deepEqual(compareStudy(undefined, fhir('1.2')), [
      { kind: 'missing-in-archive', study: '1.2', imagingStudy: 'ImagingStudy/is-1.2' },
    ]);
    assert.deepEqual(compareStudy(archive('1.3', 4), fhir('1.3', 3)), [
      { kind: 'instances-differ', study: '1.3', archiveInstances: 4, fhirInstances: 3 },
    ]);
    const moved = compareStudy(
      archive('1.4'),
      fhir('1.4', 3, { subject: 'Patient/p2', subjectIdentifiers: [{ system: 'urn:oid:1.2.3', value: 'PID-2' }] }),
    );
    assert.deepEqual(moved, [
      {
        kind: 'subject-differs',
        study: '1.4',
        expected: 'urn:oid:1.2.3|PID-1',
        subject: 'Patient/p2 urn:oid:1.2.3|PID-2',
      },
    ]);
  });

  it('never calls an ImagingStudy another server wrote missing in the archive', () => {
    assert.deepEqual(compareStudy(undefined, fhir('1.5', 3, { owned: false })), []);
  });

  it('does not compare what one side does not say (no count, no Patient read)', () => {
    const { subjectIdentifiers: _unread, ...withoutPatientRead } = fhir('1.6', 9);
    assert.deepEqual(compareStudy({ study: '1.6' }, withoutPatientRead), []);
  });

  it('compares two lists by UID, in UID order', () => {
    const drifts = compareStudies([archive('2.2'), archive('2.1')], [fhir('2.3'), fhir('2.1', 1)]);
    assert.deepEqual(
      drifts.map((drift) => [drift.kind, drift.study]),
      [
        ['instances-differ', '2.1'],
        ['missing-in-fhir', '2.2'],
        ['missing-in-archive', '2.3'],
      ],
    );
  });

  it('samples the instance UIDs found on one side only', () => {
    const sets = compareInstanceSets(['a', 'b', 'c', 'd'], ['b', 'e'], 2);
    assert.deepEqual(sets, { onlyInArchive: ['a', 'c'], onlyInFhir: ['e'], onlyInArchiveCount: 3, onlyInFhirCount: 1 });
  });

  it('describes a drift in one line', () => {
    assert.equal(
      describeDrift({
        kind: 'instances-differ',
        study: '3.1',
        archiveInstances: 3,
        fhirInstances: 2,
        onlyInArchive: ['x'],
      }),
      'study 3.1: 3 instances in the archive, 2 in FHIR (only in the archive: x)',
    );
  });
});
