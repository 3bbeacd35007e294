import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { FHIR_PROFILE_NAMES } from '../../dev/fhir-server/profiles.js';
import { makeInstanceFile, uid } from '../../dev/samples/index.js';
import { toEndpoint } from '../../shared/mapping/endpoint.js';
import { isOwnedBy } from '../../shared/mapping/ownership.js';
import { options } from '../support/mappingFixtures.js';

/**
 * Duplicates as they exist in the wild: an old DICOM Cast's Endpoint (no identifier, no meta.source), copies of
 * ours that a conditional-create race left (AHDS), and a person's copies. The sync keeps one copy of ours (the
 * lowest id among ours), moves references to it, deletes our other copies and leaves the others' alone.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`duplicate copies are merged, not a failure (FHIR profile ${profile})`, () => {
    let stack: LocalStack;

    before(async () => {
      stack = await startLocalStack({ fhirProfile: profile });
    });
    after(async () => {
      await stack.close();
    });

    async function put(resource: Resource): Promise<void> {
      const response = await fetch(`${stack.fhirUrl}/${resource.resourceType}/${resource.id ?? ''}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      assert.ok(response.ok, `seeding ${resource.resourceType}/${resource.id ?? ''}: ${response.status}`);
    }

    /** A person's Observation about `subject`, part of `study`. */
    const note = (id: string, subject: string, study: string): Observation => ({
      resourceType: 'Observation',
      id,
      status: 'final',
      code: { text: 'note' },
      subject: { reference: subject },
      partOf: [{ reference: study }],
    });

    it('keeps one Endpoint, Patient and ImagingStudy of ours, moves references, reports the others', async () => {
      const dicomUrl = stack.dicomUrl;
      const ours = { source: dicomUrl };
      const studyUid = uid('duplicates', profile, 'study');
      const otherStudyUid = uid('duplicates', profile, 'other-study');
      const studyIdentifier = [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }];
      const patientIdentifier = [{ value: 'P-DUP' }];
      const ourEndpoint = toEndpoint({ ...options, endpoint: dicomUrl });
      const { identifier: _identifier, ...dicomCastEndpoint } = ourEndpoint;
      const study = (id: string, source: string, subject: string, endpoint: string): ImagingStudy => ({
        resourceType: 'ImagingStudy',
        id,
        meta: { source },
        identifier: studyIdentifier,
        status: 'available',
        subject: { reference: subject },
        endpoint: [{ reference: endpoint }],
      });
      // Ids chosen so that a person's copy sorts first: ours is kept anyway.
      await put({ ...dicomCastEndpoint, id: 'ep-1' }); // old DICOM Cast: not ours, left alone
      await put({ ...ourEndpoint, id: 'ep-2', meta: ours });
      await put({ ...ourEndpoint, id: 'ep-3', meta: ours });
      await put({
        resourceType: 'Patient',
        id: 'pt-1',
        identifier: patientIdentifier,
        meta: { source: 'https://ehr' },
      });
      await put({ resourceType: 'Patient', id: 'pt-2', identifier: patientIdentifier, meta: ours });
      await put({ resourceType: 'Patient', id: 'pt-3', identifier: patientIdentifier, meta: ours });
      await put(study('st-1', 'https://pacs.example', 'Patient/pt-1', 'Endpoint/ep-1'));
      await put(study('st-2', dicomUrl, 'Patient/pt-3', 'Endpoint/ep-3'));
      await put(study('st-3', dicomUrl, 'Patient/pt-2', 'Endpoint/ep-2'));
      // A person's Observation about our duplicate Patient and study: its references must follow the merge.
      await put(note('ob-1', 'Patient/pt-3', 'ImagingStudy/st-3'));

      for (const [index, uidOfStudy] of [studyUid, otherStudyUid].entries()) {
        const seriesUid = uid('duplicates', uidOfStudy, 'series');
        await stack.dicom!.storeFiles([
          makeInstanceFile({
            studyUid: uidOfStudy,
            seriesUid,
            sopUid: uid('duplicates', uidOfStudy, 'sop'),
            patientId: 'P-DUP',
            patientName: 'Dup^Dora',
            modality: 'CT',
            instanceNumber: index + 1,
          }),
        ]);
      }
      const logs: string[] = [];
      const host = new LocalFunctionsHost({
        settings: stack.settings,
        log: (_level, _name, ...args) => {
          logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
        },
      });
      await host.runOnce();

      const ids = async (type: string) => (await stack.fhir!.all<Resource>(type)).map((r) => r.id).sort();
      assert.deepEqual(await ids('Endpoint'), ['ep-1', 'ep-2'], 'our extra Endpoint removed, DICOM Cast’s kept');
      assert.deepEqual((await ids('Patient')).slice(0, 2), ['pt-1', 'pt-2'], 'our extra Patient removed');
      assert.equal((await ids('Patient')).length, 2, 'no new Patient');
      const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
      const copies = studies.filter((s) => s.identifier?.some((i) => i.value === `urn:oid:${studyUid}`));
      assert.deepEqual(copies.map((s) => s.id).sort(), ['st-1', 'st-2'], 'our extra study removed, the person’s kept');
      const kept = copies.find((s) => s.id === 'st-2');
      assert.equal(kept?.numberOfInstances, 1, 'the kept copy holds the DICOM data');
      const other = studies.find((s) => s.identifier?.some((i) => i.value === `urn:oid:${otherStudyUid}`));
      for (const synced of [kept, other]) {
        assert.equal(synced?.subject.reference, 'Patient/pt-2');
        assert.ok(synced?.endpoint?.some((e) => e.reference === 'Endpoint/ep-2'));
        assert.ok(!synced?.endpoint?.some((e) => e.reference === 'Endpoint/ep-3'));
      }
      const person = studies.find((s) => s.id === 'st-1');
      assert.equal(person?.subject.reference, 'Patient/pt-1', 'the person’s copy is left alone');
      const [observation] = await stack.fhir!.all<Observation>('Observation');
      assert.equal(observation?.subject?.reference, 'Patient/pt-2', 'references to a removed copy moved');
      assert.deepEqual(observation?.partOf, [{ reference: 'ImagingStudy/st-2' }]);
      const endpoints = await stack.fhir!.all<Endpoint>('Endpoint');
      assert.ok(endpoints.some((e) => e.id === 'ep-2' && e.identifier?.[0]?.value === dicomUrl));
      for (const left of ['Endpoint/ep-1', 'Patient/pt-1', 'ImagingStudy/st-1']) {
        assert.ok(
          logs.some((line) => line.includes(left) && line.includes('left alone')),
          `${left} reported: ${logs.join('\n')}`,
        );
      }
      assert.ok(!(await stack.fhir!.all<Patient>('Patient')).some((p) => p.id === 'pt-3'));
    });

    it('references naming a version of an extra copy of ours follow the merge, then the copy is deleted', async () => {
      // AHDS's and HAPI's reference searches return such referrers; left unmoved, they would dangle (AHDS) or make
      // HAPI refuse the delete on every retry.
      const dicomUrl = stack.dicomUrl;
      const ours = { source: dicomUrl };
      const studyUid = uid('duplicates-versioned', profile, 'study');
      const identifier = [{ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` }];
      const patientIdentifier = [{ value: 'P-VER' }];
      const ourEndpoint = toEndpoint({ ...options, endpoint: dicomUrl });
      await put({ ...ourEndpoint, id: 'ev-5', meta: ours });
      await put({ ...ourEndpoint, id: 'ev-6', meta: ours });
      await put({ resourceType: 'Patient', id: 'pv-1', identifier: patientIdentifier, meta: ours });
      await put({ resourceType: 'Patient', id: 'pv-2', identifier: patientIdentifier, meta: ours });
      const study = (id: string, subject: string, endpoint: string): ImagingStudy => ({
        resourceType: 'ImagingStudy',
        id,
        meta: ours,
        identifier,
        status: 'available',
        subject: { reference: subject },
        endpoint: [{ reference: endpoint }],
      });
      await put(study('sv-1', 'Patient/pv-1', 'Endpoint/ev-6/_history/1'));
      await put(study('sv-2', 'Patient/pv-2/_history/1', 'Endpoint/ev-6/_history/1'));
      await put(note('ov-1', 'Patient/pv-2/_history/1', 'ImagingStudy/sv-2/_history/1'));
      await stack.dicom!.storeFiles([
        makeInstanceFile({
          studyUid,
          seriesUid: uid('duplicates-versioned', studyUid, 'series'),
          sopUid: uid('duplicates-versioned', studyUid, 'sop'),
          patientId: 'P-VER',
          patientName: 'Ver^Vera',
          modality: 'CT',
          instanceNumber: 1,
        }),
      ]);
      await new LocalFunctionsHost({ settings: stack.settings, log: () => undefined }).runOnce();

      const patients = await stack.fhir!.all<Patient>('Patient');
      const endpoints = await stack.fhir!.all<Endpoint>('Endpoint');
      const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
      assert.deepEqual(
        patients.filter((p) => p.identifier?.[0]?.value === 'P-VER').map((p) => p.id),
        ['pv-1'],
        'the extra Patient is deleted',
      );
      assert.ok(!endpoints.some((e) => e.id === 'ev-6'), 'the extra Endpoint is deleted');
      const oursLeft = endpoints.filter((e) => isOwnedBy(e, dicomUrl)).map((e) => e.id);
      assert.equal(oursLeft.length, 1, `one Endpoint of ours: ${oursLeft.join(', ')}`);
      const keptEndpoint = oursLeft[0];
      assert.deepEqual(
        studies.filter((s) => s.identifier?.[0]?.value === `urn:oid:${studyUid}`).map((s) => s.id),
        ['sv-1'],
        'the extra ImagingStudy is deleted',
      );
      const kept = studies.find((s) => s.id === 'sv-1');
      assert.equal(kept?.numberOfInstances, 1, 'the kept copy holds the DICOM data');
      assert.deepEqual(kept?.endpoint, [{ reference: `Endpoint/${keptEndpoint}` }], 'its versioned Endpoint moved');
      const observation = (await stack.fhir!.all<Observation>('Observation')).find((o) => o.id === 'ov-1');
      assert.equal(observation?.subject?.reference, 'Patient/pv-1');
      assert.deepEqual(observation?.partOf, [{ reference: 'ImagingStudy/sv-1' }]);
    });
  });
}
