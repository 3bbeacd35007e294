import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, Patient, Resource } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { transactionOf } from '../../../shared/fhir/bundleEntries.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { toEndpoint } from '../../../shared/mapping/index.js';
import {
  readCreatedCopies,
  readEndpointCopies,
  readPatientCopies,
  readStudyAndEndpointCopies,
  readStudyCopies,
  type ReadCopies,
} from '../../../shared/sync/identityReads.js';
import { idFromLocation } from '../../../shared/sync/sendTransaction.js';
import { options as mapping, studyUid } from '../../support/mappingFixtures.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';

/**
 * The writer's reads of a study's identities against the real local FHIR server over loopback HTTP (which, like
 * real servers, matches tokens case-insensitively and names by prefix): which results are the identity, which copy
 * is kept, which extra copies are ours to merge and which are others' to leave alone, and when the search is loose
 * (so a conditional create on it would match someone else's resource).
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`identity reads on the local FHIR server, profile ${profile}`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;

    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });

    const ours = { source: mapping.endpoint };
    const theirs = { source: 'https://ehr.example.com' };
    const identity = { system: 'urn:t', value: 'PID-1' };

    /** Creates the resources (plain creates, as a race or a person leaves them) and returns their ids, in order. */
    async function create(...resources: Resource[]): Promise<string[]> {
      const response = await fhir.transaction(
        transactionOf(
          resources.map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } })),
        ),
      );
      return resources.map((resource, index) => {
        const id = idFromLocation(response.entry?.[index]?.response?.location, resource.resourceType);
        assert.ok(id, `${resource.resourceType} created`);
        return id;
      });
    }
    const patient = (meta: { source: string }, value = identity.value): Patient => ({
      resourceType: 'Patient',
      meta,
      identifier: [{ system: identity.system, value }],
    });
    const study = (
      meta: { source: string },
      value = `urn:oid:${studyUid}`,
      system = 'urn:dicom:uid',
    ): ImagingStudy => ({
      resourceType: 'ImagingStudy',
      meta,
      status: 'available',
      identifier: [{ system, value }],
      subject: { display: 'a patient' },
    });
    /** What a read decided, by id: the kept copy, ours to merge, others' to leave, and whether the search was loose. */
    const decided = (copies: ReadCopies<Resource> | undefined) =>
      copies && {
        kept: copies.kept?.id,
        ours: copies.ours.map((copy) => copy.id).sort(),
        others: copies.others.map((copy) => copy.id).sort(),
        searchIsLoose: copies.searchIsLoose,
      };
    const lowest = (ids: string[]) => [...ids].sort()[0];
    const allBut = (ids: string[], id: string | undefined) => ids.filter((other) => other !== id).sort();

    it('Patient: every exact copy counts; ours kept (lowest id), our other copy to merge, another writer’s left alone', async () => {
      const ourIds = await create(patient(ours), patient(ours));
      const [otherId] = await create(patient(theirs));
      const kept = lowest(ourIds);
      assert.deepEqual(decided(await readPatientCopies(fhir, identity, mapping)), {
        kept,
        ours: allBut(ourIds, kept),
        others: [otherId],
        searchIsLoose: false,
      });
    });

    it('Patient: only another writer’s copies: the lowest id kept, none ours', async () => {
      const ids = await create(patient(theirs), patient(theirs));
      const kept = lowest(ids);
      assert.deepEqual(decided(await readPatientCopies(fhir, identity, mapping)), {
        kept,
        ours: [],
        others: allBut(ids, kept),
        searchIsLoose: false,
      });
    });

    it('Patient: a case-insensitive lookalike the server returns is no copy, and marks the search loose', async () => {
      await create(patient(ours, 'pid-1'));
      assert.equal((await fhir.search('Patient', { identifier: 'urn:t|PID-1' })).length, 1, 'the server returns it');
      assert.deepEqual(decided(await readPatientCopies(fhir, identity, mapping)), {
        kept: undefined,
        ours: [],
        others: [],
        searchIsLoose: true,
      });
      const [exact] = await create(patient(ours));
      assert.deepEqual(decided(await readPatientCopies(fhir, identity, mapping)), {
        kept: exact,
        ours: [],
        others: [],
        searchIsLoose: true,
      });
    });

    it('ImagingStudy: ours by meta.source (kept even when another’s id is lower), a lookalike marks the search loose', async () => {
      const ourIds = await create(study(ours), study(ours));
      const otherIds = await create(study(theirs), study(theirs), study(theirs));
      const kept = lowest(ourIds);
      assert.deepEqual(decided(await readStudyCopies(fhir, studyUid, undefined, mapping)), {
        kept,
        ours: allBut(ourIds, kept),
        others: otherIds.sort(),
        searchIsLoose: false,
      });
      await create(study(ours, `URN:OID:${studyUid}`));
      assert.equal(decided(await readStudyCopies(fhir, studyUid, undefined, mapping))?.searchIsLoose, true);
    });

    it('ImagingStudy in a named partition: its own identity; ours when written for that partition', async () => {
      const system = 'urn:dicom-cast:partition:p1';
      const [defaultPartitionCopy] = await create(study(ours));
      const [inPartition] = await create(study({ source: `${mapping.endpoint}/partitions/p1` }, undefined, system));
      const [oursButDefault] = await create(study(ours, undefined, system));
      assert.deepEqual(decided(await readStudyCopies(fhir, studyUid, 'p1', mapping)), {
        kept: inPartition,
        ours: [],
        others: [oursButDefault],
        searchIsLoose: false,
      });
      assert.equal(decided(await readStudyCopies(fhir, studyUid, undefined, mapping))?.kept, defaultPartitionCopy);
    });

    it('Endpoint: ours carry the address identifier; DICOM Cast’s (name only) is left alone; a longer address is a lookalike', async () => {
      const { identifier: _, ...dicomCasts } = toEndpoint(mapping);
      const ourIds = await create(toEndpoint(mapping), toEndpoint(mapping));
      const [dicomCastId] = await create(dicomCasts);
      const kept = lowest(ourIds);
      assert.deepEqual(decided(await readEndpointCopies(fhir, mapping)), {
        kept,
        ours: allBut(ourIds, kept),
        others: [dicomCastId],
        searchIsLoose: false,
      });
      await create(toEndpoint({ ...mapping, endpoint: `${mapping.endpoint}2` }));
      assert.equal(decided(await readEndpointCopies(fhir, mapping))?.searchIsLoose, true);
    });

    it('Endpoint: only DICOM Cast’s, kept and used, none ours', async () => {
      const { identifier: _, ...dicomCasts } = toEndpoint(mapping);
      const [id] = await create(dicomCasts);
      assert.deepEqual(decided(await readEndpointCopies(fhir, mapping)), {
        kept: id,
        ours: [],
        others: [],
        searchIsLoose: false,
      });
    });

    it('the first read, study and Endpoint in one request: each sorted from its own results only', async () => {
      const [studyId] = await create(study(ours));
      const [endpointId] = await create(toEndpoint(mapping));
      server.resetRequestCount();
      const read = await readStudyAndEndpointCopies(fhir, studyUid, undefined, mapping);
      assert.deepEqual(server.requestCounts(), { batch: 1 });
      assert.deepEqual(
        { study: decided(read.study), endpoint: decided(read.endpoint) },
        {
          study: { kept: studyId, ours: [], others: [], searchIsLoose: false },
          endpoint: { kept: endpointId, ours: [], others: [], searchIsLoose: false },
        },
      );
    });

    it('looking again after creating: the copies of what was created, and only of that', async () => {
      const [studyId] = await create(study(ours));
      const [patientId] = await create(patient(ours));
      const onlyStudy = { kept: studyId, ours: [], others: [], searchIsLoose: false };
      const onlyPatient = { kept: patientId, ours: [], others: [], searchIsLoose: false };
      const read = async (createdPatient: typeof identity | undefined, createdStudy: boolean) => {
        const copies = await readCreatedCopies(fhir, studyUid, undefined, createdPatient, createdStudy, mapping);
        return { keys: Object.keys(copies).sort(), study: decided(copies.study), patient: decided(copies.patient) };
      };
      assert.deepEqual(await read(identity, true), {
        keys: ['patient', 'study'],
        study: onlyStudy,
        patient: onlyPatient,
      });
      assert.deepEqual(await read(undefined, true), { keys: ['study'], study: onlyStudy, patient: undefined });
      assert.deepEqual(await read(identity, false), { keys: ['patient'], study: undefined, patient: onlyPatient });
      server.resetRequestCount();
      assert.deepEqual(await read(undefined, false), { keys: [], study: undefined, patient: undefined });
      assert.deepEqual(server.requestCounts(), {}, 'nothing created: nothing read');
    });
  });
}
