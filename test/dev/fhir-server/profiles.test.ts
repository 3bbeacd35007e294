import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Bundle, BundleEntry, ImagingStudy, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirProfileName, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { sampleStudy, samplePatient, STUDY_UID_SYSTEM } from '../../support/fhirFixtures.js';
import { fhirRequest, type FhirReply } from '../../support/fhirRequest.js';

// Every behaviour a profile emulates (dev/fhir-server/profiles.ts), over real HTTP, with the exact status and shape;
// each against the kind `medplum` profile too, so that a test fails if the profile's behaviour is switched off.

type Reply<T> = FhirReply<T>;

const request = <T = unknown>(
  server: RunningFhirServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> => fhirRequest<T>(server.url, method, path, body, headers);

/** Follows `next` links from `first`, checking each with `checkNext`; the ids and page sizes seen. */
async function allPages(
  server: RunningFhirServer,
  first: string,
  checkNext: (next: URL) => void,
): Promise<{ ids: string[]; pageSizes: number[] }> {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let next: string | undefined = first;
  while (next) {
    const page: Reply<Bundle> = await request<Bundle>(server, 'GET', next);
    assert.equal(page.status, 200);
    pageSizes.push(page.body.entry?.length ?? 0);
    ids.push(...(page.body.entry ?? []).map((e) => e.resource?.id as string));
    next = page.body.link?.find((l) => l.relation === 'next')?.url;
    if (next) checkNext(new URL(next));
  }
  return { ids, pageSizes };
}

const patient = samplePatient;
const study = sampleStudy;

const transaction = (entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry });

/** A transaction that conditionally creates a Patient and an ImagingStudy referencing it by urn:uuid. */
const patientAndStudy = (pid: string, uid: string, n = 0): Bundle => {
  const patientUrl = `urn:uuid:dddddddd-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return transaction([
    {
      fullUrl: patientUrl,
      resource: patient(pid),
      request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=|${pid}` },
    },
    {
      resource: study(uid, patientUrl),
      request: { method: 'POST', url: 'ImagingStudy', ifNoneExist: `identifier=${STUDY_UID_SYSTEM}|urn:oid:${uid}` },
    },
  ]);
};

const diagnostics = (outcome: OperationOutcome): string => JSON.stringify(outcome.issue);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local FHIR server profiles', () => {
  const servers = {} as Record<FhirProfileName, RunningFhirServer>;
  let medplum: RunningFhirServer;
  let azure: RunningFhirServer;
  let hapi: RunningFhirServer;

  before(async () => {
    for (const profile of ['medplum', 'azure', 'hapi'] as const) servers[profile] = await startFhirServer({ profile });
    ({ medplum, azure, hapi } = servers);
  });
  after(async () => {
    await Promise.all(Object.values(servers).map((server) => server.close()));
  });
  beforeEach(async () => {
    for (const server of Object.values(servers)) {
      await server.reset();
      server.setTraffic(undefined);
    }
  });

  const create = async <T extends Patient | ImagingStudy>(server: RunningFhirServer, resource: T): Promise<T> => {
    const reply = await request<T>(server, 'POST', `/${resource.resourceType}`, resource);
    assert.equal(reply.status, 201);
    return reply.body;
  };

  it('azure: a Bundle of more than 500 entries is 400; 500 pass (medplum: no limit)', async () => {
    const deletes = (n: number): BundleEntry[] =>
      Array.from({ length: n }, (_, i) => ({ request: { method: 'DELETE', url: `Patient/p${i}` } }));
    const over = await request<OperationOutcome>(azure, 'POST', '', transaction(deletes(501)));
    assert.equal(over.status, 400);
    assert.equal(over.body.resourceType, 'OperationOutcome');
    assert.match(
      diagnostics(over.body),
      /number of entries in the bundle \(501\) exceeded the configured limit of 500/,
    );
    const batch = await request(azure, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry: deletes(501) });
    assert.equal(batch.status, 400);
    assert.equal((await request(azure, 'POST', '', transaction(deletes(500)))).status, 200);
    assert.equal((await request(medplum, 'POST', '', transaction(deletes(501)))).status, 200);
  });

  it('azure: concurrent conditional-create transactions both create (pre-pass race); medplum and hapi: one', async () => {
    const race = async (server: RunningFhirServer) => {
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, n) => request<Bundle>(server, 'POST', '', patientAndStudy('PID-RACE', '9.9', n))),
      );
      assert.deepEqual(
        replies.map((r) => r.status),
        Array(8).fill(200),
      );
      return {
        patients: await server.all<Patient>('Patient'),
        studies: await server.all<ImagingStudy>('ImagingStudy'),
      };
    };
    // A window wide enough that all eight pre-passes happen before the first write.
    const wide = await startFhirServer({ profile: 'azure', raceWindowMs: 100 });
    try {
      const onAzure = await race(wide);
      assert.equal(onAzure.patients.length, 8, 'every transaction searched before any wrote');
      assert.equal(onAzure.studies.length, 8);
    } finally {
      await wide.close();
    }
    for (const server of [medplum, hapi]) {
      const { patients, studies } = await race(server);
      assert.equal(patients.length, 1);
      assert.equal(studies.length, 1);
    }
  });

  it('azure: a match appearing after the pre-pass leaves a reference to an id never created; one after execution duplicates', async () => {
    const slow = await startFhirServer({ profile: 'azure', raceWindowMs: 300 });
    try {
      // Created during the first window: the entry's own search finds it, but references were fixed in the pre-pass.
      const pending = request<Bundle>(slow, 'POST', '', patientAndStudy('PID-LATE', '7.7'));
      await sleep(150);
      const other = await create(slow, patient('PID-LATE'));
      const late = await pending;
      assert.equal(late.status, 200);
      assert.equal(late.body.entry?.[0]?.response?.status, '200 OK');
      assert.equal(late.body.entry?.[0]?.resource?.id, other.id);
      const [studyWritten] = await slow.all<ImagingStudy>('ImagingStudy');
      const dangling = studyWritten?.subject.reference ?? '';
      assert.notEqual(dangling, `Patient/${other.id}`);
      assert.equal((await request(slow, 'GET', `/${dangling}`)).status, 404);

      // Created during the second window: nobody sees it, both create.
      const racing = request<Bundle>(slow, 'POST', '', patientAndStudy('PID-DUP', '8.8'));
      await sleep(450);
      await create(slow, patient('PID-DUP'));
      const duplicated = await racing;
      assert.equal(duplicated.body.entry?.[0]?.response?.status, '201 Created');
      const copies = (await slow.all<Patient>('Patient')).filter((p) => p.identifier?.[0]?.value === 'PID-DUP');
      assert.equal(copies.length, 2);
    } finally {
      await slow.close();
    }
  });

  it('every profile: a matched conditional create answers 200 and rewrites references to the match', async () => {
    for (const server of [medplum, azure, hapi]) {
      const existing = await create(server, patient('PID-M'));
      const reply = await request<Bundle>(server, 'POST', '', patientAndStudy('PID-M', '1.2.3'));
      assert.equal(reply.status, 200);
      assert.equal(reply.body.entry?.[0]?.response?.status, '200 OK');
      assert.equal(reply.body.entry?.[0]?.resource?.id, existing.id);
      const [written] = await server.all<ImagingStudy>('ImagingStudy');
      assert.equal(written?.subject.reference, `Patient/${existing.id}`, server.profile.name);
    }
  });

  it('azure and hapi: If-Match on DELETE is ignored (medplum: 412)', async () => {
    for (const server of [azure, hapi]) {
      const p = await create(server, patient('PID-D'));
      const reply = await request(server, 'DELETE', `/Patient/${p.id}`, undefined, { 'If-Match': 'W/"9"' });
      assert.equal(reply.status, 204, server.profile.name);
      assert.deepEqual(await server.all('Patient'), []);
      const q = await create(server, patient('PID-D2'));
      const inBundle = await request<Bundle>(
        server,
        'POST',
        '',
        transaction([{ request: { method: 'DELETE', url: `Patient/${q.id}`, ifMatch: 'W/"9"' } }]),
      );
      assert.equal(inBundle.status, 200);
      assert.equal(inBundle.body.entry?.[0]?.response?.status, '204 No Content');
    }
    const p = await create(medplum, patient('PID-D'));
    assert.equal(
      (await request(medplum, 'DELETE', `/Patient/${p.id}`, undefined, { 'If-Match': 'W/"9"' })).status,
      412,
    );
  });

  it('azure and hapi: a PUT identical to the current version answers 200 with that version (medplum: a new one)', async () => {
    for (const server of [azure, hapi]) {
      const p = await create(server, patient('PID-I'));
      const same = await request<Patient>(server, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': 'W/"1"' });
      assert.equal(same.status, 200, server.profile.name);
      assert.equal(same.body.meta?.versionId, '1');
      assert.equal(same.headers.get('etag'), 'W/"1"');
      // Twice with the same If-Match: both succeed, so an unchanged PUT fences nothing.
      assert.equal((await request(server, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': 'W/"1"' })).status, 200);
      const changed = await request<Patient>(server, 'PUT', `/Patient/${p.id}`, { ...p, gender: 'male' });
      assert.equal(changed.body.meta?.versionId, '2');
    }
    const p = await create(medplum, patient('PID-I'));
    const same = await request<Patient>(medplum, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': 'W/"1"' });
    assert.equal(same.body.meta?.versionId, '2');
  });

  it('azure: entry.response.location is absolute (medplum and hapi: relative)', async () => {
    for (const server of [azure, medplum, hapi]) {
      const reply = await request<Bundle>(
        server,
        'POST',
        '',
        transaction([{ resource: patient('PID-L'), request: { method: 'POST', url: 'Patient' } }]),
      );
      const entry = reply.body.entry?.[0];
      const relative = `Patient/${entry?.resource?.id}/_history/1`;
      assert.equal(entry?.response?.location, server === azure ? `${server.url}/${relative}` : relative);
    }
  });

  it('azure: If-Match must be W/"n"; "n" or n is 400, on a PUT and in a transaction entry (medplum: lenient)', async () => {
    const p = await create(azure, patient('PID-E'));
    for (const etag of ['"1"', '1']) {
      const reply = await request<OperationOutcome>(azure, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': etag });
      assert.equal(reply.status, 400, etag);
      assert.match(diagnostics(reply.body), /not a weak ETag/);
      const inBundle = await request<OperationOutcome>(
        azure,
        'POST',
        '',
        transaction([{ resource: p, request: { method: 'PUT', url: `Patient/${p.id}`, ifMatch: etag } }]),
      );
      assert.equal(inBundle.status, 400);
      assert.match(diagnostics(inBundle.body), /Bundle\.entry\[0\]\.request\.ifMatch/);
    }
    assert.equal((await request(azure, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': 'W/"1"' })).status, 200);
    const q = await create(medplum, patient('PID-E'));
    assert.equal((await request(medplum, 'PUT', `/Patient/${q.id}`, q, { 'If-Match': '"1"' })).status, 200);
  });

  it('azure: If-Match on a deleted resource is 404; hapi: a stale If-Match is 409; medplum: 412 for both', async () => {
    const expectations: [RunningFhirServer, number, number][] = [
      [azure, 412, 404],
      [hapi, 409, 409],
      [medplum, 412, 412],
    ];
    for (const [server, stale, gone] of expectations) {
      const p = await create(server, patient('PID-S'));
      await request(server, 'PUT', `/Patient/${p.id}`, { ...p, gender: 'male' });
      const staleReply = await request<OperationOutcome>(server, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': 'W/"1"' });
      assert.equal(staleReply.status, stale, `${server.profile.name} stale`);
      assert.equal(staleReply.body.resourceType, 'OperationOutcome');
      const inBundle = await request<OperationOutcome>(
        server,
        'POST',
        '',
        transaction([{ resource: p, request: { method: 'PUT', url: `Patient/${p.id}`, ifMatch: 'W/"1"' } }]),
      );
      assert.equal(inBundle.status, stale, `${server.profile.name} stale in a transaction`);
      await request(server, 'DELETE', `/Patient/${p.id}`);
      const goneReply = await request(server, 'PUT', `/Patient/${p.id}`, p, { 'If-Match': 'W/"2"' });
      assert.equal(goneReply.status, gone, `${server.profile.name} gone`);
    }
  });

  it('azure: 10 per page and an opaque ct continuation token; _offset is ignored', async () => {
    for (let i = 0; i < 25; i++) await create(azure, patient(`PID-P${i}`));
    const { ids, pageSizes } = await allPages(azure, '/Patient', (next) => {
      assert.ok(next.searchParams.get('ct'), next.href);
      assert.equal(next.searchParams.get('_offset'), null);
    });
    assert.deepEqual(pageSizes, [10, 10, 5]);
    assert.equal(new Set(ids).size, 25);
    const offset = await request<Bundle>(azure, 'GET', '/Patient?_offset=10');
    assert.deepEqual(
      offset.body.entry?.map((e) => e.resource?.id),
      ids.slice(0, 10),
    );
    assert.equal((await request(azure, 'GET', '/Patient?ct=not-a-token')).status, 400);
  });

  it('hapi: 20 per page and _getpages links on the base; an unknown search is 410', async () => {
    for (let i = 0; i < 45; i++) await create(hapi, patient(`PID-H${i}`));
    const { ids, pageSizes } = await allPages(hapi, '/Patient', (next) => {
      assert.equal(`${next.origin}${next.pathname}`, hapi.url);
      assert.ok(next.searchParams.get('_getpages'));
    });
    assert.deepEqual(pageSizes, [20, 20, 5]);
    assert.equal(new Set(ids).size, 45);
    assert.equal((await request(hapi, 'GET', '?_getpages=unknown&_getpagesoffset=20')).status, 410);
    const medplumPage = await request<Bundle>(medplum, 'GET', '/Patient?_count=1');
    assert.equal(
      medplumPage.body.link?.find((l) => l.relation === 'next'),
      undefined,
    );
  });

  it('azure: throttling answers 429 with Retry-After and x-ms-retry-after-ms, by fraction or token bucket', async () => {
    azure.setTraffic({ throttleFraction: 1, retryAfterMs: 1500 });
    const throttled = await request<OperationOutcome>(azure, 'GET', '/Patient');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '2');
    assert.equal(throttled.headers.get('x-ms-retry-after-ms'), '1500');
    assert.equal(throttled.body.issue?.[0]?.code, 'throttled');
    assert.equal((await request(azure, 'GET', '/metadata')).status, 200, '/metadata is never throttled');

    azure.setTraffic({ requestsPerSecond: 1, burst: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(azure, 'GET', '/Patient')).status);
    assert.deepEqual(statuses, [200, 200, 429]);

    azure.setTraffic({ throttleFraction: 0.3, seed: 7 });
    let count429 = 0;
    for (let i = 0; i < 100; i++) if ((await request(azure, 'GET', '/Patient')).status === 429) count429++;
    assert.ok(count429 > 15 && count429 < 45, `${count429} of 100 throttled`);
    assert.ok(azure.trafficStats().throttled >= count429);

    hapi.setTraffic({ throttleFraction: 1 });
    const hapiThrottled = await request(hapi, 'GET', '/Patient');
    assert.equal(hapiThrottled.status, 429);
    assert.equal(hapiThrottled.headers.get('x-ms-retry-after-ms'), null);
  });

  it('traffic faults: 503, a reset connection, and a lost response after the write was done', async () => {
    medplum.setTraffic({ unavailableFraction: 1 });
    assert.equal((await request(medplum, 'GET', '/Patient')).status, 503);
    medplum.setTraffic({ resetFraction: 1 });
    await assert.rejects(request(medplum, 'POST', '/Patient', patient('PID-R')));
    medplum.setTraffic({ lostResponseFraction: 1 });
    await assert.rejects(request(medplum, 'POST', '/Patient', patient('PID-LOST')));
    medplum.setTraffic(undefined);
    const kept = await medplum.all<Patient>('Patient');
    assert.deepEqual(
      kept.map((p) => p.identifier?.[0]?.value),
      ['PID-LOST'],
    );
    assert.throws(() => medplum.setTraffic({ throttleFraction: 1.5 }), /throttleFraction must be between 0 and 1/);
  });

  it('hapi: meta.source is rewritten to <source>#<request id>', async () => {
    const created = await request<Patient>(hapi, 'POST', '/Patient', patient('PID-SRC', 'urn:dicom-cast#old'));
    const requestId = created.headers.get('x-request-id');
    assert.ok(requestId);
    assert.equal(created.body.meta?.source, `urn:dicom-cast#${requestId}`);
    const bundle = await request<Bundle>(hapi, 'POST', '', patientAndStudy('PID-SRC2', '4.4'));
    const sources = bundle.body.entry?.map((e) => e.resource?.meta?.source);
    assert.deepEqual(sources, [`#${bundle.headers.get('x-request-id')}`, `#${bundle.headers.get('x-request-id')}`]);
    const kept = await request<Patient>(medplum, 'POST', '/Patient', patient('PID-SRC', 'urn:dicom-cast'));
    assert.equal(kept.body.meta?.source, 'urn:dicom-cast');
    // One behaviour switched off on top of a profile, as INVARIANT_PROFILE_OVERRIDES does.
    const verbatim = await startFhirServer({ profile: 'hapi', profileOverrides: { metaSource: 'verbatim' } });
    try {
      const reply = await request<Patient>(verbatim, 'POST', '/Patient', patient('PID-SRC', 'urn:dicom-cast'));
      assert.equal(reply.body.meta?.source, 'urn:dicom-cast');
      assert.equal(verbatim.profile.staleIfMatchStatus, 409, 'the rest of the profile is kept');
    } finally {
      await verbatim.close();
    }
  });

  it('hapi: deleting a referenced resource is 409 unless the same transaction deletes the referrer', async () => {
    const p = await create(hapi, patient('PID-REF'));
    const s = await create(hapi, study('5.5', `Patient/${p.id}`));
    const refused = await request<OperationOutcome>(hapi, 'DELETE', `/Patient/${p.id}`);
    assert.equal(refused.status, 409);
    assert.match(diagnostics(refused.body), new RegExp(`ImagingStudy/${s.id}`));
    const alone = await request(
      hapi,
      'POST',
      '',
      transaction([{ request: { method: 'DELETE', url: `Patient/${p.id}` } }]),
    );
    assert.equal(alone.status, 409);
    assert.equal((await hapi.all('Patient')).length, 1, 'rolled back');
    const both = await request(
      hapi,
      'POST',
      '',
      transaction([
        { request: { method: 'DELETE', url: `Patient/${p.id}` } },
        { request: { method: 'DELETE', url: `ImagingStudy/${s.id}` } },
      ]),
    );
    assert.equal(both.status, 200);
    assert.deepEqual(await hapi.all('Patient'), []);
    const q = await create(medplum, patient('PID-REF'));
    await create(medplum, study('5.5', `Patient/${q.id}`));
    assert.equal((await request(medplum, 'DELETE', `/Patient/${q.id}`)).status, 204);
  });

  it('every profile: a reference search for Type/id matches one naming a version; hapi: such a reference blocks a delete', async () => {
    // AHDS indexes `Patient/1/_history/2` as Patient/1 (ReferenceSearchValueParser); HAPI links it to the Patient
    // whatever the version (ResourceLink), for its search and for its referential integrity check on delete.
    for (const server of Object.values(servers)) {
      const p = await create(server, patient('PID-VER'));
      const other = await create(server, patient('PID-VER-OTHER'));
      const versioned = await create(server, study('6.1', `Patient/${p.id}/_history/1`));
      const plain = await create(server, study('6.2', `Patient/${p.id}`));
      await create(server, study('6.3', `Patient/${other.id}/_history/1`));
      const found = await request<Bundle>(server, 'GET', `/ImagingStudy?subject=Patient/${p.id}`);
      const ids = (found.body.entry ?? []).map((entry) => entry.resource?.id).sort();
      assert.deepEqual(ids, [versioned.id, plain.id].sort(), server.profile.name);
      assert.equal((await request(server, 'DELETE', `/ImagingStudy/${plain.id}`)).status, 204);
      const deleted = await request<OperationOutcome>(server, 'DELETE', `/Patient/${p.id}`);
      if (server === hapi) {
        assert.equal(deleted.status, 409);
        assert.match(diagnostics(deleted.body), new RegExp(`ImagingStudy/${versioned.id}`));
      } else {
        assert.equal(deleted.status, 204, server.profile.name);
      }
    }
  });

  it('azure: two entries resolving to one resource are 400 (medplum: allowed)', async () => {
    for (const server of [azure, medplum]) {
      const p = await create(server, patient('PID-TWO'));
      const reply = await request<OperationOutcome>(
        server,
        'POST',
        '',
        transaction([
          { resource: { ...p, gender: 'male' }, request: { method: 'PUT', url: `Patient/${p.id}` } },
          {
            resource: patient('PID-TWO'),
            request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=|PID-TWO' },
          },
        ]),
      );
      if (server === azure) {
        assert.equal(reply.status, 400);
        assert.match(diagnostics(reply.body), /multiple entries that refers to the same resource 'Patient\//);
        assert.equal((await server.all<Patient>('Patient'))[0]?.gender, 'female', 'nothing written');
      } else {
        assert.equal(reply.status, 200);
      }
    }
  });
});
