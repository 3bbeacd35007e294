import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, BundleEntry, Endpoint, ImagingStudy, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { sampleStudy, samplePatient, STUDY_UID_SYSTEM } from '../../support/fhirFixtures.js';
import { fhirRequest, type FhirReply } from '../../support/fhirRequest.js';

let server: RunningFhirServer;

const request = <T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<FhirReply<T>> => fhirRequest<T>(server.url, method, path, body, headers);

const patient = samplePatient;
const study = sampleStudy;

const endpoint = (name: string): Endpoint => ({
  resourceType: 'Endpoint',
  status: 'active',
  name,
  connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
  payloadType: [{ text: 'DICOM WADO-RS' }],
  address: 'https://dicom.example.com/v1',
});

const transaction = (entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry });

function issueText(outcome: OperationOutcome): string {
  return JSON.stringify(outcome.issue);
}

void describe('local FHIR server', () => {
  before(async () => {
    server = await startFhirServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(async () => {
    await server.reset();
    server.resetRequestCount();
  });

  void it('publishes an R4 CapabilityStatement with transaction and batch', async () => {
    const { status, body } = await request<{ fhirVersion: string; rest: { interaction: { code: string }[] }[] }>(
      'GET',
      '/metadata',
    );
    assert.equal(status, 200);
    assert.equal(body.fhirVersion, '4.0.1');
    const codes = body.rest[0]?.interaction.map((i) => i.code);
    assert.deepEqual(codes?.sort(), ['batch', 'transaction']);
  });

  void it('creates and reads a resource with sequential versions and an ETag', async () => {
    const created = await request<Patient>('POST', '/Patient', patient('PID-1'));
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal(created.body.meta?.versionId, '1');
    assert.equal(created.headers.get('etag'), 'W/"1"');
    assert.equal(created.headers.get('location'), `${server.url}/Patient/${id}/_history/1`);
    assert.ok(created.headers.get('last-modified'));

    const read = await request<Patient>('GET', `/Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('etag'), 'W/"1"');
    assert.deepEqual(read.body.identifier, [{ value: 'PID-1' }]);

    const updated = await request<Patient>('PUT', `/Patient/${id}`, { ...read.body, gender: 'other' });
    assert.equal(updated.status, 200);
    assert.equal(updated.headers.get('etag'), 'W/"2"');

    assert.equal((await request('DELETE', `/Patient/${id}`)).status, 204);
    assert.equal((await request('GET', `/Patient/${id}`)).status, 410);
    assert.equal((await request('GET', '/Patient/never-existed')).status, 404);
    assert.deepEqual(server.requestCounts(), { create: 1, read: 3, update: 1, delete: 1 });
  });

  void it('rejects an update with a stale If-Match with 412', async () => {
    const created = await request<Patient>('POST', '/Patient', patient('PID-2'));
    const id = created.body.id as string;
    const first = await request('PUT', `/Patient/${id}`, { ...created.body, gender: 'male' }, { 'If-Match': 'W/"1"' });
    assert.equal(first.status, 200);
    const stale = await request<OperationOutcome>(
      'PUT',
      `/Patient/${id}`,
      { ...created.body, gender: 'other' },
      { 'If-Match': 'W/"1"' },
    );
    assert.equal(stale.status, 412);
    assert.equal(stale.body.resourceType, 'OperationOutcome');
    const [current] = await server.all<Patient>('Patient');
    assert.equal(current?.gender, 'male');
    assert.equal(current?.meta?.versionId, '2');
  });

  void it('answers If-None-Exist with 201 the first time and 200 with the existing resource after', async () => {
    const condition = { 'If-None-Exist': 'identifier=|PID-3' };
    const first = await request<Patient>('POST', '/Patient', patient('PID-3'), condition);
    assert.equal(first.status, 201);
    const second = await request<Patient>('POST', '/Patient', patient('PID-3'), condition);
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.body.meta?.versionId, '1');
    assert.equal((await server.all('Patient')).length, 1);
  });

  void it('creates Patient, Endpoint and ImagingStudy in one transaction, resolving urn:uuid references', async () => {
    const reply = await request<Bundle>(
      'POST',
      '',
      transaction([
        {
          fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001',
          resource: study('1.2.3', 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002'),
          request: { method: 'POST', url: 'ImagingStudy', ifNoneExist: `identifier=${STUDY_UID_SYSTEM}|urn:oid:1.2.3` },
        },
        {
          fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002',
          resource: patient('PID-4'),
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=|PID-4' },
        },
        {
          fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000003',
          resource: endpoint('dicom-server'),
          request: { method: 'POST', url: 'Endpoint', ifNoneExist: 'name=dicom-server' },
        },
      ]),
    );
    assert.equal(reply.status, 200);
    assert.equal(reply.body.type, 'transaction-response');
    assert.deepEqual(
      reply.body.entry?.map((e) => e.response?.status),
      ['201 Created', '201 Created', '201 Created'],
    );
    const [createdStudy] = await server.all<ImagingStudy>('ImagingStudy');
    const [createdPatient] = await server.all<Patient>('Patient');
    assert.equal(createdStudy?.subject.reference, `Patient/${createdPatient?.id}`);
    assert.equal(reply.body.entry?.[1]?.response?.location, `Patient/${createdPatient?.id}/_history/1`);
    assert.equal(reply.body.entry?.[1]?.response?.etag, 'W/"1"');

    // Sent again, every ifNoneExist matches: nothing is written, and the locations name the existing resources.
    const again = await request<Bundle>(
      'POST',
      '',
      transaction([
        {
          fullUrl: 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000002',
          resource: patient('PID-4'),
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=|PID-4' },
        },
        {
          fullUrl: 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000001',
          resource: study('1.2.3', 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000002'),
          request: { method: 'POST', url: 'ImagingStudy', ifNoneExist: `identifier=${STUDY_UID_SYSTEM}|urn:oid:1.2.3` },
        },
      ]),
    );
    assert.deepEqual(
      again.body.entry?.map((e) => [e.response?.status, e.response?.location]),
      [
        ['200 OK', `Patient/${createdPatient?.id}/_history/1`],
        ['200 OK', `ImagingStudy/${createdStudy?.id}/_history/1`],
      ],
    );
    assert.equal((await server.all('Patient')).length, 1);
    assert.equal((await server.all('ImagingStudy')).length, 1);
  });

  void it('rolls back every entry of a transaction that fails on a stale ifMatch', async () => {
    const existing = await request<Patient>('POST', '/Patient', patient('PID-5'));
    const id = existing.body.id as string;
    await request('PUT', `/Patient/${id}`, { ...existing.body, gender: 'male' });

    const reply = await request<OperationOutcome>(
      'POST',
      '',
      transaction([
        {
          fullUrl: 'urn:uuid:cccccccc-0000-4000-8000-000000000001',
          resource: endpoint('ep-5'),
          request: { method: 'POST', url: 'Endpoint' },
        },
        {
          resource: study('5.5.5', `Patient/${id}`),
          request: { method: 'POST', url: 'ImagingStudy' },
        },
        {
          resource: { ...existing.body, gender: 'other' },
          request: { method: 'PUT', url: `Patient/${id}`, ifMatch: 'W/"1"' },
        },
      ]),
    );
    assert.equal(reply.status, 412);
    assert.equal(reply.body.resourceType, 'OperationOutcome');
    assert.match(issueText(reply.body), /Bundle\.entry\[2\]/);
    assert.deepEqual(await server.all('Endpoint'), []);
    assert.deepEqual(await server.all('ImagingStudy'), []);
    const [unchanged] = await server.all<Patient>('Patient');
    assert.equal(unchanged?.gender, 'male');
    assert.equal(unchanged?.meta?.versionId, '2');
  });

  void it('rolls back updates and deletes, restoring the exact prior versions', async () => {
    const a = (await request<Patient>('POST', '/Patient', patient('PID-A'))).body;
    const b = (await request<Patient>('POST', '/Patient', patient('PID-B'))).body;
    const reply = await request<OperationOutcome>(
      'POST',
      '',
      transaction([
        { request: { method: 'DELETE', url: `Patient/${a.id}` } },
        { resource: { ...b, gender: 'male' }, request: { method: 'PUT', url: `Patient/${b.id}` } },
        {
          resource: { ...study('6.6.6', `Patient/${b.id}`), status: 'bogus' as 'available' },
          request: { method: 'POST', url: 'ImagingStudy' },
        },
      ]),
    );
    assert.equal(reply.status, 400);
    const after = await server.all<Patient>('Patient');
    assert.deepEqual(after.map((p) => p.id).sort(), [a.id, b.id].sort());
    assert.deepEqual(
      after.find((p) => p.id === b.id),
      b,
    );
    assert.equal((await request('GET', `/Patient/${a.id}`)).status, 200);
    // Searches see the restored identifiers too.
    const found = await request<Bundle>('GET', '/Patient?identifier=PID-A');
    assert.equal(found.body.total, 1);
  });

  void it('rejects invalid resources with 400 naming the path', async () => {
    const withoutSubject = await request<OperationOutcome>('POST', '/ImagingStudy', {
      resourceType: 'ImagingStudy',
      status: 'available',
    });
    assert.equal(withoutSubject.status, 400);
    assert.match(issueText(withoutSubject.body), /ImagingStudy\.subject/);

    const bogusStatus = await request<OperationOutcome>('POST', '/ImagingStudy', {
      ...study('7.7.7', 'Patient/x'),
      status: 'bogus',
    });
    assert.equal(bogusStatus.status, 400);
    assert.match(issueText(bogusStatus.body), /ImagingStudy\.status/);
    assert.match(issueText(bogusStatus.body), /bogus/);

    const emptyString = await request<OperationOutcome>('POST', '/ImagingStudy', {
      ...study('7.7.8', 'Patient/x'),
      description: '',
    });
    assert.equal(emptyString.status, 400);
    assert.match(issueText(emptyString.body), /ImagingStudy\.description/);

    const badGender = await request<OperationOutcome>('POST', '/Patient', { ...patient('P'), gender: 'F' });
    assert.equal(badGender.status, 400);
    assert.match(issueText(badGender.body), /Patient\.gender/);

    const badEndpoint = await request<OperationOutcome>('POST', '/Endpoint', { ...endpoint('e'), status: 'on' });
    assert.equal(badEndpoint.status, 400);
    assert.match(issueText(badEndpoint.body), /Endpoint\.status/);

    const unknownProperty = await request<OperationOutcome>('POST', '/Patient', { ...patient('P'), nickname: 'J' });
    assert.equal(unknownProperty.status, 400);
    assert.match(issueText(unknownProperty.body), /Patient\.nickname/);

    assert.deepEqual(await server.all('ImagingStudy'), []);
    assert.deepEqual(await server.all('Patient'), []);
  });

  void it('creates exactly one resource from 16 concurrent conditional-create transactions', async () => {
    // Storage latency makes the transactions interleave as they would on a database-backed server.
    const slow = await startFhirServer({ storageLatencyMs: 1 });
    try {
      const attempt = async (n: number): Promise<Bundle> => {
        const patientUrl = `urn:uuid:dddddddd-0000-4000-8000-${String(n).padStart(12, '0')}`;
        const response = await fetch(slow.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/fhir+json' },
          body: JSON.stringify(
            transaction([
              {
                fullUrl: patientUrl,
                resource: patient('PID-RACE'),
                request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=|PID-RACE' },
              },
              {
                resource: study('9.9.9', patientUrl),
                request: {
                  method: 'POST',
                  url: 'ImagingStudy',
                  ifNoneExist: `identifier=${STUDY_UID_SYSTEM}|urn:oid:9.9.9`,
                },
              },
            ]),
          ),
        });
        assert.equal(response.status, 200);
        return (await response.json()) as Bundle;
      };
      const replies = await Promise.all(Array.from({ length: 16 }, (_, n) => attempt(n)));
      const statuses = replies.map((r) => r.entry?.[0]?.response?.status);
      assert.equal(statuses.filter((s) => s === '201 Created').length, 1);
      assert.equal(statuses.filter((s) => s === '200 OK').length, 15);
      const patients = await slow.all<Patient>('Patient');
      const studies = await slow.all<ImagingStudy>('ImagingStudy');
      assert.equal(patients.length, 1);
      assert.equal(studies.length, 1);
      assert.equal(studies[0]?.subject.reference, `Patient/${patients[0]?.id}`);
      assert.equal(slow.requestCounts().transaction, 16);
    } finally {
      await slow.close();
    }
  });

  void it('searches by identifier token forms, name, connection-type, subject and _summary=count', async () => {
    const p = (await request<Patient>('POST', '/Patient', patient('PID-8'))).body;
    await request('POST', '/Patient', { ...patient('PID-8'), identifier: [{ system: 'urn:other', value: 'PID-8' }] });
    await request('POST', '/ImagingStudy', study('1.2.3', `Patient/${p.id}`));
    await request('POST', '/ImagingStudy', study('1.2.3.4', `Patient/${p.id}`));
    await request('POST', '/Endpoint', endpoint('dicom-main'));

    const byUid = await request<Bundle<ImagingStudy>>(
      'GET',
      `/ImagingStudy?identifier=${STUDY_UID_SYSTEM}|urn:oid:1.2.3`,
    );
    assert.equal(byUid.status, 200);
    assert.equal(byUid.body.type, 'searchset');
    assert.equal(byUid.body.total, 1);
    assert.equal(byUid.body.entry?.[0]?.resource?.identifier?.[0]?.value, 'urn:oid:1.2.3');

    const total = async (query: string): Promise<number | undefined> =>
      (await request<Bundle>('GET', query)).body.total;
    assert.equal(await total('/Patient?identifier=|PID-8'), 1);
    assert.equal(await total('/Patient?identifier=PID-8'), 2);
    assert.equal(await total('/Patient?identifier=urn:other|PID-8'), 1);
    assert.equal(await total('/Patient?identifier=|nope'), 0);
    assert.equal(await total(`/ImagingStudy?subject=Patient/${p.id}`), 2);
    assert.equal(await total(`/ImagingStudy?patient=Patient/${p.id}`), 2);
    assert.equal(await total('/Endpoint?name=dicom-main'), 1);
    assert.equal(await total('/Endpoint?connection-type=dicom-wado-rs'), 1);
    assert.equal(await total(`/Patient?_id=${p.id}`), 1);

    const counted = await request<Bundle>('GET', '/ImagingStudy?_summary=count');
    assert.equal(counted.body.total, 2);
    assert.equal(counted.body.entry, undefined);

    const paged = await request<Bundle>('GET', '/ImagingStudy?_count=1');
    assert.equal(paged.body.entry?.length, 1);
    assert.ok(paged.body.link?.some((l) => l.relation === 'next'));

    assert.equal((await request('GET', '/Patient?favourite-colour=blue')).status, 400);
    assert.equal(server.requestCounts()['search-type'], 13);
  });

  void it('handles ambiguous conditions, conditional update, delete If-Match, batches and return=minimal', async () => {
    await request('POST', '/Patient', patient('TWIN'));
    await request('POST', '/Patient', patient('TWIN'));
    const ambiguous = await request('POST', '/Patient', patient('TWIN'), { 'If-None-Exist': 'identifier=TWIN' });
    assert.equal(ambiguous.status, 412);

    const upsert = (gender: NonNullable<Patient['gender']>): Bundle =>
      transaction([
        { resource: { ...patient('PID-10'), gender }, request: { method: 'PUT', url: 'Patient?identifier=|PID-10' } },
      ]);
    const created = await request<Bundle>('POST', '', upsert('male'));
    assert.equal(created.body.entry?.[0]?.response?.status, '201 Created');
    const updated = await request<Bundle>('POST', '', upsert('female'));
    assert.equal(updated.body.entry?.[0]?.response?.status, '200 OK');
    const id = (updated.body.entry?.[0]?.resource as Patient).id as string;
    assert.equal(updated.body.entry?.[0]?.response?.location, `Patient/${id}/_history/2`);

    assert.equal((await request('DELETE', `/Patient/${id}`, undefined, { 'If-Match': 'W/"1"' })).status, 412);
    assert.equal((await request('DELETE', `/Patient/${id}`, undefined, { 'If-Match': 'W/"2"' })).status, 204);

    const batch = await request<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient('PID-11'), request: { method: 'POST', url: 'Patient' } },
        { resource: { ...patient('PID-12'), gender: 'nope' }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(batch.body.type, 'batch-response');
    assert.deepEqual(
      batch.body.entry?.map((e) => e.response?.status),
      ['201 Created', '400 Bad Request'],
    );
    assert.equal((await request<Bundle>('GET', '/Patient?identifier=PID-11')).body.total, 1);

    const minimal = await fetch(`${server.url}/Patient`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' },
      body: JSON.stringify(patient('PID-13')),
    });
    assert.equal(minimal.status, 201);
    assert.equal(await minimal.text(), '');
    assert.match(minimal.headers.get('location') ?? '', /\/Patient\/[^/]+\/_history\/1$/);

    // In a Bundle: each write entry's response only (R4 http.html#ops); a read keeps its resource.
    const bundle = transaction([
      { resource: patient('PID-14'), request: { method: 'POST', url: 'Patient' } },
      {
        resource: { ...patient('PID-10'), gender: 'male' },
        request: { method: 'PUT', url: 'Patient?identifier=|PID-10' },
      },
      { request: { method: 'GET', url: 'Patient?identifier=PID-11' } },
    ]);
    const post = (prefer?: string) =>
      fetch(server.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/fhir+json', ...(prefer ? { Prefer: prefer } : {}) },
        body: JSON.stringify(bundle),
      }).then(async (response) => (await response.json()) as Bundle);
    const lean = await post('return=minimal');
    assert.deepEqual(
      lean.entry?.map((e) => [e.response?.status, e.resource?.resourceType]),
      [
        ['201 Created', undefined],
        ['201 Created', undefined],
        ['200 OK', 'Bundle'],
      ],
    );
    assert.match(lean.entry?.[0]?.response?.location ?? '', /^Patient\/[^/]+\/_history\/1$/);
    assert.equal(lean.entry?.[1]?.response?.etag, 'W/"1"');
    const full = await post();
    assert.deepEqual(
      full.entry?.map((e) => e.resource?.resourceType),
      ['Patient', 'Patient', 'Bundle'],
    );
  });

  void it('injects faults and enforces authorization', async () => {
    server.failNext(2, 503);
    assert.equal((await request('GET', '/Patient')).status, 503);
    assert.equal((await request('POST', '/Patient', patient('PID-9'))).status, 503);
    assert.equal((await request('GET', '/Patient')).status, 200);
    assert.deepEqual(await server.all('Patient'), []);

    const guarded = await startFhirServer({ authorize: (header) => header === 'Bearer good' });
    try {
      const unauthorized = await fetch(`${guarded.url}/Patient`);
      assert.equal(unauthorized.status, 401);
      const authorized = await fetch(`${guarded.url}/Patient`, { headers: { Authorization: 'Bearer good' } });
      assert.equal(authorized.status, 200);
      assert.equal((await fetch(`${guarded.url}/metadata`)).status, 200);
    } finally {
      await guarded.close();
    }
  });
});
