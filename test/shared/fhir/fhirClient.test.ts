import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import type { AuthorizationProvider } from '../../../shared/auth/authorizationProvider.js';
import { createFhirClient, describeOutcome } from '../../../shared/fhir/fhirClient.js';
import { fhirStatusError } from '../../../shared/fhir/fhirErrors.js';
import { sameContent } from '../../../shared/fhir/resourceEquality.js';
import { ifMatchOf, referenceTo } from '../../../shared/fhir/versions.js';

/** The FHIR client's searches and headers against the local FHIR server, and the helpers the writer's plan uses. */
describe('the FHIR client on the local FHIR server', () => {
  let fhir: RunningFhirServer;
  const seen: (string | undefined)[] = [];
  let token: string | undefined = 'Bearer good';
  const authorization: AuthorizationProvider = {
    authorizationFor: async () => token,
    invalidate: () => undefined,
  };
  const client = () => createFhirClient({ baseUrl: fhir.url, authorization });

  before(async () => {
    fhir = await startFhirServer({
      authorize: (header) => {
        seen.push(header);
        return header === 'Bearer good' || header === undefined;
      },
    });
  });
  after(async () => {
    await fhir.close();
  });

  const create = async (...resources: Resource[]): Promise<Bundle> =>
    client().transaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: resources.map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } })),
    });

  it('sends the provider’s Authorization header, and none when the provider has none', async () => {
    seen.length = 0;
    token = 'Bearer good';
    await client().search('Patient', { identifier: 'nobody|0' });
    assert.deepEqual(seen, ['Bearer good']);
    seen.length = 0;
    token = undefined;
    await client().search('Patient', { identifier: 'nobody|0' });
    assert.deepEqual(seen, [undefined]);
    token = 'Bearer good';
  });

  it('a search follows next links to the last page', async () => {
    const patients = Array.from({ length: 25 }, (_, i): Patient => ({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:paging', value: String(i) }],
    }));
    await create(...patients);
    const found = await client().search<Patient>('Patient', { identifier: 'urn:paging|', _count: '10' });
    assert.equal(found.length, 25);
    assert.deepEqual(
      found.map((patient) => Number(patient.identifier?.[0]?.value)).sort((a, b) => a - b),
      patients.map((_, i) => i),
    );
    const empty = await client().search<Patient>('Patient', { identifier: 'urn:paging|none' });
    assert.deepEqual(empty, []);
  });

  it('a search returns the matches only, not the resources _include added', async () => {
    const response = await create({ resourceType: 'Patient', identifier: [{ system: 'urn:linked', value: 'b' }] });
    const linked = response.entry?.[0]?.response?.location?.split('/')[1];
    await create({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:linked', value: 'a' }],
      link: [{ other: { reference: `Patient/${linked}` }, type: 'seealso' }],
    });
    const found = await client().search<Patient>('Patient', {
      identifier: 'urn:linked|a',
      _include: 'Patient:link',
    });
    assert.deepEqual(
      found.map((patient) => patient.identifier?.[0]?.value),
      ['a'],
    );
  });
});

describe('describeOutcome and fhirStatusError', () => {
  it('names each issue by diagnostics, details or code, and where', () => {
    assert.equal(
      describeOutcome({
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'error', code: 'invalid', diagnostics: 'Bad value', expression: ['Patient.gender', 'x'] },
          { severity: 'error', code: 'invalid', details: { text: 'Details text' } },
          { severity: 'error', code: 'conflict' },
        ],
      }),
      'Bad value at Patient.gender, x; Details text; conflict',
    );
    assert.equal(describeOutcome({ resourceType: 'OperationOutcome' }), '');
    assert.equal(describeOutcome({ resourceType: 'Patient', issue: [{ code: 'x' }] }), '');
    assert.equal(describeOutcome(undefined), '');
    assert.equal(describeOutcome('text'), '');
  });

  it('an error without a response body says only the status', () => {
    assert.equal(fhirStatusError(404, undefined, 'read').message, 'FHIR read answered 404');
  });
});

describe('resource comparison and versions', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'p1',
    meta: { versionId: '3', lastUpdated: '2024-01-01T00:00:00Z', source: 'https://dicom' },
    name: [{ family: 'A', given: ['B', 'C'] }],
    gender: 'female',
  };

  it('sameContent ignores key order, undefined values and server-managed meta, nothing else', () => {
    // Undefined values the Patient type forbids: a resource from untyped code may still hold them.
    const withUndefined = (resource: object) => resource as Patient;
    assert.equal(
      sameContent(
        patient,
        withUndefined({
          gender: 'female',
          name: [{ given: ['B', 'C'], family: 'A' }],
          meta: { source: 'https://dicom', versionId: '4' },
          id: 'p1',
          resourceType: 'Patient',
          birthDate: undefined,
        }),
      ),
      true,
    );
    assert.equal(
      sameContent(withUndefined({ ...patient, meta: undefined }), withUndefined({ ...patient, meta: undefined })),
      true,
    );
    assert.equal(sameContent(patient, { ...patient, name: [{ family: 'A', given: ['C', 'B'] }] }), false);
    assert.equal(sameContent(patient, { ...patient, name: [{ family: 'A', given: ['B'] }] }), false);
    assert.equal(sameContent(patient, { ...patient, meta: { ...patient.meta, source: 'other' } }), false);
    assert.equal(sameContent(patient, { ...patient, gender: 'male' }), false);
    assert.equal(sameContent(patient, { ...patient, birthDate: '2000-01-01' }), false);
    assert.equal(sameContent(patient, { ...patient, name: [{ family: 'Z', given: ['B', 'C'] }] }), false);
  });

  it('If-Match names the version read; a resource read without one has none', () => {
    assert.equal(ifMatchOf(patient), 'W/"3"');
    assert.equal(ifMatchOf({ resourceType: 'Patient' }), undefined);
    assert.equal(ifMatchOf({ resourceType: 'Patient', meta: {} }), undefined);
    assert.equal(referenceTo(patient), 'Patient/p1');
    assert.equal(referenceTo({ resourceType: 'Patient' }), 'Patient/');
  });
});
