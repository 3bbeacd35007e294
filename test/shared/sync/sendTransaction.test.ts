import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import { conditionalCreate } from '../../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { endpointCreateCondition, toEndpoint } from '../../../shared/mapping/index.js';
import { assembleTransaction } from '../../../shared/mapping/transaction/bundles.js';
import { localFullUrl, type PlannedEntry } from '../../../shared/mapping/transaction/plan.js';
import { ConflictRetry } from '../../../shared/sync/conflict.js';
import { idFromLocation, sendStudyTransaction } from '../../../shared/sync/sendTransaction.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';

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

    it('the whole study found existing (200 for each): a conflict', async () => {
      await sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir);
      await assert.rejects(
        sendStudyTransaction(assembleTransaction([endpoint, patient, study]), studyUid, fhir),
        ConflictRetry,
      );
      assert.equal((await server.all('ImagingStudy')).length, 1);
    });
  });
}
