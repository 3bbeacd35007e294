import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import type { DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import { conditionalCreate, versionedUpdate } from '../../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { endpointCreateCondition, toEndpoint } from '../../../shared/mapping/index.js';
import { assembleTransaction } from '../../../shared/mapping/transaction/bundles.js';
import { localFullUrl, type PlannedEntry } from '../../../shared/mapping/transaction/plan.js';
import { ConflictRetry } from '../../../shared/sync/conflict.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { idFromLocation, sendStudyTransaction } from '../../../shared/sync/sendTransaction.js';
import type { StudySyncDeps } from '../../../shared/sync/studySyncTypes.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { instance, options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { raceBeforeFirstTransaction } from '../../support/racingFhir.js';
import { studyReaderOver } from '../../support/studyReaders.js';

describe('idFromLocation', () => {
  it('takes the id of the named type from a relative or absolute location, with or without a version', () => {
    assert.equal(idFromLocation('ImagingStudy/abc', 'ImagingStudy'), 'abc');
    assert.equal(idFromLocation('ImagingStudy/abc/_history/2', 'ImagingStudy'), 'abc');
    assert.equal(idFromLocation('https://fhir.example.com/ImagingStudy/abc/_history/2', 'ImagingStudy'), 'abc');
    assert.equal(idFromLocation('https://fhir.example.com/ImagingStudy/abc/', 'ImagingStudy'), 'abc');
  });

  it('nothing for another type, a longer type name, a longer path or no location', () => {
    assert.equal(idFromLocation('Patient/abc/_history/1', 'ImagingStudy'), undefined);
    assert.equal(idFromLocation('MyImagingStudy/abc', 'ImagingStudy'), undefined);
    assert.equal(idFromLocation('ImagingStudy/abc/extra', 'ImagingStudy'), undefined);
    assert.equal(idFromLocation('ImagingStudy/abc/_history/1/more', 'ImagingStudy'), undefined);
    assert.equal(idFromLocation(undefined, 'ImagingStudy'), undefined);
  });
});

/**
 * sendStudyTransaction against the real local FHIR server over loopback HTTP, with entries planned as the planners
 * plan them (conditional creates of the Endpoint, Patient and ImagingStudy, the fence) and assembled by the
 * assembler: what it reports as created, the ids it reads back, and when a 200 means another writer was first.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`sendStudyTransaction on the local FHIR server, profile ${profile}`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });

    const endpointUrl = localFullUrl('Endpoint', mapping.endpoint);
    const patientUrl = localFullUrl('Patient', 'P1');
    const studyUrl = localFullUrl('ImagingStudy', studyUid);
    const source = { source: mapping.endpoint };
    const endpoint: PlannedEntry = {
      entry: conditionalCreate(toEndpoint(mapping), endpointUrl, endpointCreateCondition(mapping)),
      role: 'endpoint',
      ifFound: 'same',
    };
    const patientResource: Patient = {
      resourceType: 'Patient',
      meta: source,
      identifier: [{ system: 'urn:t', value: 'P1' }],
    };
    const patient: PlannedEntry = {
      entry: conditionalCreate(patientResource, patientUrl, { identifier: 'urn:t|P1' }),
      role: 'patient',
      ifFound: 'conflict',
    };
    const study: PlannedEntry = {
      entry: conditionalCreate(
        {
          resourceType: 'ImagingStudy',
          meta: source,
          status: 'available',
          identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }],
          subject: { reference: patientUrl },
          endpoint: [{ reference: endpointUrl }],
        },
        studyUrl,
        { identifier: `urn:dicom:uid|urn:oid:${studyUid}` },
      ),
      role: 'imagingStudy',
      ifFound: 'conflict',
    };
    const observation = (code: string, partOf?: string): PlannedEntry => ({
      entry: conditionalCreate(
        {
          resourceType: 'Observation',
          meta: source,
          status: 'final',
          code: { text: code },
          identifier: [{ system: 'urn:t', value: code }],
          ...(partOf ? { partOf: [{ reference: partOf }] } : {}),
        },
        localFullUrl('Observation', code),
        { identifier: `urn:t|${code}` },
      ),
      role: 'standalone',
      ifFound: 'same',
    });
    const one = async <T extends Resource>(resourceType: T['resourceType']): Promise<T> => {
      const all = await server.all<T>(resourceType);
      assert.equal(all.length, 1, `one ${resourceType}`);
      return all[0]!;
    };

    it('a new study: the earlier Bundle first, then the fence; all three created, their ids read back', async () => {
      const transaction = assembleTransaction([observation('early'), endpoint, patient, study], 3);
      assert.equal(transaction.before.length, 1, 'the Observation goes in a Bundle of its own');
      const sent = await sendStudyTransaction(transaction, studyUid, fhir);
      assert.deepEqual([...sent.created].sort(), ['endpoint', 'imagingStudy', 'patient']);
      assert.deepEqual(sent.ids, {
        endpoint: (await one<Endpoint>('Endpoint')).id,
        patient: (await one<Patient>('Patient')).id,
        imagingStudy: (await one<ImagingStudy>('ImagingStudy')).id,
      });
      assert.equal(sent.deferred, 0);
      assert.equal((await one<Observation>('Observation')).code?.text, 'early');
    });

    it('entries that did not fit are counted as deferred', async () => {
      const transaction = assembleTransaction([endpoint, patient, study, observation('late', studyUrl)], 3);
      const sent = await sendStudyTransaction(transaction, studyUid, fhir);
      assert.equal(sent.deferred, 1);
      assert.deepEqual(await server.all('Observation'), []);
    });

    it('an Endpoint that already exists (200) is ours to use: not created, its id read back, no conflict', async () => {
      await createOurEndpoint(fhir, mapping);
      const sent = await sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir);
      assert.deepEqual([...sent.created].sort(), ['imagingStudy', 'patient']);
      assert.equal(sent.ids.endpoint, (await one<Endpoint>('Endpoint')).id);
    });

    it('a Patient another writer created first (200): a conflict that names the ImagingStudy version we wrote', async () => {
      await fhir.transaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: patientResource, request: { method: 'POST', url: 'Patient' } }],
      });
      const error = await sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir).then(
        () => assert.fail('expected a conflict'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConflictRetry);
      assert.ok(error instanceof RetryableError);
      assert.equal(error.category, 'fhir-conflict');
      assert.equal(
        error.message,
        `Another writer changed the FHIR resources of the study first (a conditional create found an existing resource) (study ${studyUid})`,
      );
      const written = await one<ImagingStudy>('ImagingStudy');
      assert.deepEqual(error.writtenImagingStudy, { id: written.id, versionId: written.meta?.versionId });
    });

    it('a Patient found existing beside our update of the ImagingStudy (200): the conflict names the version we wrote', async () => {
      await sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir);
      const existing = await one<ImagingStudy>('ImagingStudy');
      // The study's Patient ID changed to P2, and another writer created that Patient first.
      const patient2Url = localFullUrl('Patient', 'P2');
      const patient2Resource: Patient = { ...patientResource, identifier: [{ system: 'urn:t', value: 'P2' }] };
      await fhir.transaction({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: patient2Resource, request: { method: 'POST', url: 'Patient' } }],
      });
      const patient2: PlannedEntry = {
        entry: conditionalCreate(patient2Resource, patient2Url, { identifier: 'urn:t|P2' }),
        role: 'patient',
        ifFound: 'conflict',
      };
      const update: PlannedEntry = {
        entry: versionedUpdate({ ...existing, subject: { reference: patient2Url } }),
        role: 'imagingStudy',
      };
      const error = await sendStudyTransaction(assembleTransaction([patient2, update]), studyUid, fhir).then(
        () => assert.fail('expected a conflict'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConflictRetry);
      const written = await one<ImagingStudy>('ImagingStudy');
      assert.notEqual(written.meta?.versionId, existing.meta?.versionId, 'the update committed');
      assert.deepEqual(error.writtenImagingStudy, { id: written.id, versionId: written.meta?.versionId });
    });

    it('the whole study found existing (200 for each): a conflict', async () => {
      await sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir);
      const error = await sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir).then(
        () => assert.fail('expected a conflict'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConflictRetry);
      assert.equal(
        error.writtenImagingStudy,
        undefined,
        'the ImagingStudy found is another writer’s version, not ours',
      );
      assert.equal((await server.all('ImagingStudy')).length, 1);
    });
  });
}

/**
 * What the fix above protects, end to end through syncStudy on the local FHIR server: a writer that loses the race to
 * create the study must not take the ImagingStudy it found for its own write, or its next pass would reuse the DICOM
 * metadata it read before the winner's (newer) read and write that older data over the winner's, fenced by the
 * winner's version, dropping an instance the DICOM server holds.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`a lost create race through syncStudy, profile ${profile}`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });

    const sop = (n: number) => `${studyUid}.1.${n}`;
    const ct = (n: number) => instance(`${studyUid}.1`, sop(n));
    const messageOf = (n: number): StudyMessage => ({
      study: studyUid,
      maxSequence: n,
      changes: [{ series: `${studyUid}.1`, sop: sop(n), action: 'create', sequence: n, state: 'current' }],
    });
    const depsOf = (client: FhirClient, datasets: () => DicomJsonDataset[]): StudySyncDeps => ({
      dicom: studyReaderOver(async () => datasets()),
      fhir: client,
      recordFailure: () => Promise.reject(new Error('nothing to record')),
      sleep: async () => {},
    });

    it('the winner created the study from newer DICOM data: the loser reads the DICOM server again and keeps it', async () => {
      await createOurEndpoint(fhir, mapping);
      let stored = [ct(1)];
      const racing = raceBeforeFirstTransaction(fhir, async () => {
        // Instance 2 is stored after our read; the other writer reads both and creates the study first.
        stored = [ct(1), ct(2)];
        await syncStudy(
          messageOf(2),
          depsOf(fhir, () => stored),
          { mapping },
        );
      });
      const synced = await syncStudy(
        messageOf(1),
        depsOf(racing, () => stored),
        { mapping },
      );
      assert.equal(synced.attempts, 2, 'the lost race is retried');
      const [study, ...others] = await server.all<ImagingStudy>('ImagingStudy');
      assert.equal(others.length, 0);
      assert.deepEqual((study?.series ?? []).flatMap((series) => (series.instance ?? []).map((i) => i.uid)).sort(), [
        sop(1),
        sop(2),
      ]);
    });
  });
}
