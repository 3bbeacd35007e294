import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BundleEntry, Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { splitTransaction, transactionOf } from '../../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { hasExactIdentifier, isOwnedBy, ownSource, sourceOf } from '../../../shared/mapping/ownership.js';
import { mergeCopies, repointReferrer, sortCopies } from '../../../shared/sync/duplicates.js';
import { idFromLocation } from '../../../shared/sync/sendTransaction.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';

const patient = (id: string, source?: string): Patient => ({
  resourceType: 'Patient',
  id,
  ...(source ? { meta: { source } } : {}),
});

describe('ownership and exact identity', () => {
  it('meta.source: the part before the first #, compared exactly', () => {
    assert.equal(sourceOf(patient('1', 'https://dicom#req-1#x')), 'https://dicom');
    assert.ok(isOwnedBy(patient('1', 'https://dicom#abc'), 'https://dicom'));
    assert.ok(!isOwnedBy(patient('1', 'https://dicom2'), 'https://dicom'));
    assert.ok(!isOwnedBy(patient('1', 'HTTPS://DICOM'), 'https://dicom'));
    assert.ok(!isOwnedBy(patient('1'), 'https://dicom'));
    assert.equal(ownSource('https://dicom', 'Microsoft.Default'), 'https://dicom');
    assert.equal(ownSource('https://dicom/', 'a b'), 'https://dicom/partitions/a%20b');
  });

  it('an identifier matches only with the same system and value, case-sensitively', () => {
    const identifiers = [{ value: 'A' }, { system: 'urn:x', value: 'B' }];
    assert.ok(hasExactIdentifier(identifiers, '', 'A'));
    assert.ok(hasExactIdentifier(identifiers, 'urn:x', 'B'));
    for (const [system, value] of [
      ['', 'a'],
      ['', 'A|'],
      ['', 'A|B'],
      ['urn:x', 'A'],
      ['', 'B'],
      ['URN:X', 'B'],
    ]) {
      assert.ok(!hasExactIdentifier(identifiers, system as string, value as string), `${system}|${value}`);
    }
  });
});

describe('duplicate copies', () => {
  it('keeps the lowest id among ours, else the lowest id; others are never ours to remove', () => {
    const isOurs = (copy: Patient) => isOwnedBy(copy, 'https://dicom');
    const copies = sortCopies(
      [patient('c', 'https://dicom'), patient('a', 'https://ehr'), patient('b', 'https://dicom')],
      isOurs,
    );
    assert.deepEqual(
      [copies.kept?.id, copies.ours.map((p) => p.id), copies.others.map((p) => p.id)],
      ['b', ['c'], ['a']],
    );
    const theirs = sortCopies([patient('z'), patient('y')], isOurs);
    assert.deepEqual([theirs.kept?.id, theirs.ours.length, theirs.others.map((p) => p.id)], ['y', 0, ['z']]);
  });

  it('moves subject, endpoint and partOf references to the kept copy without listing it twice', () => {
    const study: ImagingStudy = {
      resourceType: 'ImagingStudy',
      id: 's',
      status: 'available',
      subject: { reference: 'Patient/old' },
      endpoint: [{ reference: 'Endpoint/kept' }, { reference: 'Endpoint/old' }, { reference: 'Endpoint/other' }],
    };
    assert.deepEqual((repointReferrer(study, 'Endpoint/old', 'Endpoint/kept') as ImagingStudy).endpoint, [
      { reference: 'Endpoint/kept' },
      { reference: 'Endpoint/other' },
    ]);
    assert.equal(
      (repointReferrer(study, 'Patient/old', 'Patient/kept') as ImagingStudy).subject.reference,
      'Patient/kept',
    );
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      partOf: [{ reference: 'https://fhir/ImagingStudy/old' }],
    };
    assert.deepEqual((repointReferrer(observation, 'ImagingStudy/old', 'ImagingStudy/k') as Observation).partOf, [
      { reference: 'ImagingStudy/k' },
    ]);
    assert.equal(repointReferrer(study, 'Patient/unrelated', 'Patient/kept'), undefined);
  });

  it("a series' endpoint naming the extra copy moves too: the endpoint search matches it", () => {
    const modality = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' };
    const study: ImagingStudy = {
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: 'Patient/p' },
      series: [
        { uid: '1.2', modality, endpoint: [{ reference: 'Endpoint/old/_history/2' }] },
        { uid: '1.3', modality, endpoint: [{ reference: 'Endpoint/other' }] },
      ],
    };
    const moved = repointReferrer(study, 'Endpoint/old', 'Endpoint/kept') as ImagingStudy;
    assert.deepEqual(
      moved.series?.map((series) => series.endpoint),
      [[{ reference: 'Endpoint/kept' }], [{ reference: 'Endpoint/other' }]],
    );
    assert.equal(moved.endpoint, undefined);
    assert.equal(study.series?.[0]?.endpoint?.[0]?.reference, 'Endpoint/old/_history/2', 'the input is left as it was');
  });

  it('versioned references to the extra copy, relative or absolute, move to the kept copy; no other reference does', () => {
    const study: ImagingStudy = {
      resourceType: 'ImagingStudy',
      id: 's',
      status: 'available',
      subject: { reference: 'Patient/old/_history/2', display: 'Dora' },
      endpoint: [
        { reference: 'https://fhir.example/Endpoint/old/_history/3' },
        { reference: 'Endpoint/old/_history/1' },
        { reference: 'Endpoint/old1/_history/1' },
      ],
    };
    const moved = repointReferrer(study, 'Patient/old', 'Patient/kept') as ImagingStudy;
    assert.deepEqual(moved.subject, { reference: 'Patient/kept', display: 'Dora' });
    assert.deepEqual(moved.endpoint, study.endpoint, 'only the subject named the Patient');
    assert.deepEqual((repointReferrer(study, 'Endpoint/old', 'Endpoint/kept') as ImagingStudy).endpoint, [
      { reference: 'Endpoint/kept' },
      { reference: 'Endpoint/old1/_history/1' },
    ]);
    const alreadyKept = {
      ...study,
      endpoint: [{ reference: 'Endpoint/old/_history/1' }, { reference: 'Endpoint/kept/_history/7' }],
    };
    assert.deepEqual((repointReferrer(alreadyKept, 'Endpoint/old', 'Endpoint/kept') as ImagingStudy).endpoint, [
      { reference: 'Endpoint/kept/_history/7' },
    ]);
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      subject: { reference: 'Patient/old1/_history/2' },
      partOf: [
        { reference: 'https://other.example/fhir/ImagingStudy/old/_history/9' },
        { reference: 'ImagingStudy/older' },
      ],
    };
    assert.deepEqual((repointReferrer(observation, 'ImagingStudy/old', 'ImagingStudy/k') as Observation).partOf, [
      { reference: 'ImagingStudy/k' },
      { reference: 'ImagingStudy/older' },
    ]);
    for (const [from, unrelated] of [
      ['Patient/old', 'Patient/old1/_history/2'],
      ['Patient/ol', 'Patient/old/_history/2'],
      ['Patient/old', 'Patient/old/_history'],
      ['Patient/old', 'Patient/old/_history/2/x'],
      ['Patient/old', 'XPatient/old/_history/2'],
      ['Patient/2', 'Patient/old/_history/2'],
    ] as const) {
      const referrer: Observation = { ...observation, subject: { reference: unrelated }, partOf: [] };
      assert.equal(repointReferrer(referrer, from, 'Patient/kept'), undefined, `${unrelated} is not ${from}`);
    }
  });
});

describe('splitting a transaction within Fhir:MaxBundleEntries', () => {
  const entry = (fullUrl: string, reference?: string): BundleEntry => ({
    fullUrl,
    resource: {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      ...(reference ? { partOf: [{ reference }] } : {}),
    },
  });

  it('one Bundle when it fits', () => {
    assert.deepEqual(splitTransaction([entry('a'), entry('b')], [0], 2), { chunks: [], fenced: [0, 1], deferred: 0 });
  });

  it('entries that stand alone go first in chunks; the fence and what is left go last; none over the limit', () => {
    const entries = [
      entry('ImagingStudy/1'),
      ...Array.from({ length: 11 }, (_, i) => entry(`o${i}`, 'ImagingStudy/1')),
    ];
    const parts = splitTransaction(entries, [0], 5);
    assert.deepEqual(parts.chunks, [
      [1, 2, 3, 4, 5],
      [6, 7],
    ]);
    assert.deepEqual(parts.fenced, [0, 8, 9, 10, 11]);
    assert.equal(parts.deferred, 0);
    const all = [...parts.chunks.flat(), ...parts.fenced].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      entries.map((_, i) => i),
    );
  });

  it('entries referencing what the fence creates travel with it; those that do not fit wait for the next pass', () => {
    const study = 'urn:uuid:5a1c9a3e-0000-5000-8000-000000000001';
    const entries = [entry(study), ...Array.from({ length: 6 }, (_, i) => entry(`o${i}`, study))];
    assert.deepEqual(splitTransaction(entries, [0], 4), { chunks: [], fenced: [0, 1, 2, 3], deferred: 3 });
  });
});

/**
 * mergeCopies against the real local FHIR server over loopback HTTP, with a Bundle limit of two entries: every
 * referrer of an extra copy is repointed at the kept copy before that copy is deleted (HAPI refuses to delete a
 * resource something still references), and nothing is sent when there is nothing of ours to merge.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`mergeCopies on the local FHIR server, profile ${profile}, two entries per Bundle`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile, profileOverrides: { maxBundleEntries: 2 } });

    const ours = { source: 'https://dicom' };
    async function create<T extends Resource>(resource: T): Promise<T> {
      const response = await fhir.transaction(
        transactionOf([{ resource, request: { method: 'POST', url: resource.resourceType } }]),
      );
      const id = idFromLocation(response.entry?.[0]?.response?.location, resource.resourceType);
      const created = (await server.all<T>(resource.resourceType)).find((found) => found.id === id);
      assert.ok(created, `${resource.resourceType} created`);
      return created;
    }
    const studyOf = (subject: Patient): ImagingStudy => ({
      resourceType: 'ImagingStudy',
      meta: ours,
      status: 'available',
      subject: { reference: `Patient/${subject.id}` },
    });

    it('nothing of ours to merge: nothing sent, nothing removed', async () => {
      const kept = await create<Patient>({ resourceType: 'Patient', meta: ours });
      const other = await create<Patient>({ resourceType: 'Patient', meta: { source: 'https://ehr' } });
      server.resetRequestCount();
      assert.equal(await mergeCopies(fhir, 'Patient', { kept, ours: [], others: [other] }, 2), 0);
      assert.equal(await mergeCopies(fhir, 'Patient', { kept: undefined, ours: [], others: [] }, 2), 0);
      assert.deepEqual(server.requestCounts(), {});
      assert.equal((await server.all('Patient')).length, 2);
    });

    it('two extra copies, each referenced: both referrers repointed first, then both copies deleted', async () => {
      const kept = await create<Patient>({ resourceType: 'Patient', meta: ours });
      const extras = [
        await create<Patient>({ resourceType: 'Patient', meta: ours }),
        await create<Patient>({ resourceType: 'Patient', meta: ours }),
      ];
      for (const extra of extras) await create(studyOf(extra));
      assert.equal(await mergeCopies(fhir, 'Patient', { kept, ours: extras, others: [] }, 2), 2);
      assert.deepEqual(
        (await server.all<Patient>('Patient')).map((found) => found.id),
        [kept.id],
      );
      assert.deepEqual(
        (await server.all<ImagingStudy>('ImagingStudy')).map((study) => study.subject.reference),
        [`Patient/${kept.id}`, `Patient/${kept.id}`],
      );
    });

    it('a referrer naming a version of the extra copy is repointed to the kept copy before the copy is deleted', async () => {
      const kept = await create<Patient>({ resourceType: 'Patient', meta: ours });
      const extra = await create<Patient>({ resourceType: 'Patient', meta: ours });
      const study = await create({ ...studyOf(extra), subject: { reference: `Patient/${extra.id}/_history/1` } });
      assert.equal(await mergeCopies(fhir, 'Patient', { kept, ours: [extra], others: [] }, 2), 1);
      assert.deepEqual(
        (await server.all<Patient>('Patient')).map((found) => found.id),
        [kept.id],
      );
      const [moved] = await server.all<ImagingStudy>('ImagingStudy');
      assert.deepEqual([moved?.id, moved?.subject.reference], [study.id, `Patient/${kept.id}`]);
    });

    it('an ImagingStudy whose series names an extra Endpoint copy is repointed before the copy is deleted', async () => {
      const endpoint = (): Endpoint => ({
        resourceType: 'Endpoint',
        meta: ours,
        status: 'active',
        connectionType: { code: 'dicom-wado-rs' },
        payloadType: [{ text: 'DICOM' }],
        address: 'https://dicom',
      });
      const kept = await create(endpoint());
      const extra = await create(endpoint());
      const patient = await create<Patient>({ resourceType: 'Patient', meta: ours });
      const modality = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' };
      const series = [{ uid: '1.2', modality, endpoint: [{ reference: `Endpoint/${extra.id}/_history/1` }] }];
      await create({ ...studyOf(patient), series });
      assert.equal(await mergeCopies(fhir, 'Endpoint', { kept, ours: [extra], others: [] }, 2), 1);
      assert.deepEqual(
        (await server.all<Endpoint>('Endpoint')).map((found) => found.id),
        [kept.id],
      );
      const [moved] = await server.all<ImagingStudy>('ImagingStudy');
      assert.deepEqual(moved?.series?.[0]?.endpoint, [{ reference: `Endpoint/${kept.id}` }]);
    });
  });
}
