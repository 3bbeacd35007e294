import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createOrthancChangeSource } from '../../../shared/changes/orthancChangeSource.js';
import type { OrthancStudyIds } from '../../../shared/changes/orthancStudyIds.js';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import {
  createOrthancClient,
  type OrthancChange,
  type OrthancClient,
  type OrthancStudyRef,
} from '../../../shared/orthanc/orthancClient.js';

/** An Orthanc change log in memory: rows, and what each id resolves to (absent = deleted, 404). */
function fakeOrthanc(rows: OrthancChange[], studiesOf: Record<string, OrthancStudyRef[]>) {
  const asked: string[] = [];
  const limits: number[] = [];
  const client: OrthancClient = {
    changes: (since, limit) => {
      limits.push(limit);
      const page = rows.filter((row) => row.seq > since).slice(0, limit);
      const last = page.at(-1)?.seq ?? rows.at(-1)?.seq ?? 0;
      return Promise.resolve({ changes: page, done: page.at(-1)?.seq === rows.at(-1)?.seq || page.length === 0, last });
    },
    lastChange: () => Promise.resolve(rows.at(-1)),
    studiesOf: (type, id) => {
      asked.push(`${type}/${id}`);
      return Promise.resolve(studiesOf[id] ?? 'gone');
    },
  };
  return { client, asked, limits };
}

function memoryIds(initial: Record<string, string> = {}): OrthancStudyIds & { map: Map<string, string> } {
  const map = new Map(Object.entries(initial));
  return {
    map,
    get: (id) => Promise.resolve(map.get(id)),
    remember: (refs) => {
      for (const ref of refs) map.set(ref.id, ref.studyUid);
      return Promise.resolve();
    },
    allStudyUids: () => Promise.resolve([...new Set(map.values())]),
  };
}

const row = (seq: number, changeType: string, resourceType: string, id: string): OrthancChange => ({
  seq,
  changeType,
  resourceType,
  id,
});

describe('Orthanc change source', () => {
  it('resolves each id once per page, every New/Stable/Updated row is an upsert, and remembers study ids', async () => {
    const study = { id: 'st1', studyUid: '1.2.3' };
    const { client, asked } = fakeOrthanc(
      [
        row(1, 'NewInstance', 'Instance', 'i1'),
        row(2, 'NewSeries', 'Series', 's1'),
        row(3, 'NewStudy', 'Study', 'st1'),
        row(4, 'NewPatient', 'Patient', 'p1'),
        row(5, 'NewInstance', 'Instance', 'i2'),
        row(6, 'UpdatedAttachment', 'Instance', 'i2'),
        row(7, 'StableStudy', 'Study', 'st1'),
        row(8, 'JobSuccess', 'Job', 'j1'),
      ],
      { i1: [study], s1: [study], st1: [study], p1: [study], i2: [study] },
    );
    const ids = memoryIds();
    const page = await createOrthancChangeSource({ orthanc: client, studyIds: ids }).readPage(
      { version: 'v1', sequence: 0 },
      100,
    );
    assert.deepEqual(page.position, { version: 'v1', sequence: 8 });
    assert.equal(page.rowsRead, 8);
    assert.ok(page.done);
    assert.equal(Math.max(...page.studies.map((change) => change.sequence)), 7);
    assert.ok(page.studies.every((change) => change.study === '1.2.3'));
    assert.deepEqual(asked.sort(), ['Instance/i1', 'Instance/i2', 'Patient/p1', 'Series/s1', 'Study/st1']);
    assert.equal(ids.map.get('st1'), '1.2.3');
  });

  it('a study id Orthanc no longer knows is answered from memory', async () => {
    const { client } = fakeOrthanc(
      [row(9, 'StableStudy', 'Study', 'gone-study'), row(10, 'NewInstance', 'Instance', 'gone-i')],
      {},
    );
    const page = await createOrthancChangeSource({
      orthanc: client,
      studyIds: memoryIds({ 'gone-study': '9.9' }),
    }).readPage({ version: 'v1', sequence: 8 }, 100);
    assert.deepEqual(page.studies, [{ study: '9.9', sequence: 9 }]);
    assert.deepEqual(page.position, { version: 'v1', sequence: 10 });
  });

  it('a Last below the checkpoint is a wiped database: back to 0, every remembered study reconciled, said loudly', async () => {
    const { client, limits } = fakeOrthanc([row(1, 'NewInstance', 'Instance', 'i1')], {});
    const lines: string[] = [];
    const source = createOrthancChangeSource({
      orthanc: client,
      studyIds: memoryIds({ a: '1.1', b: '2.2' }),
      log: (level, message) => lines.push(`${level} ${message}`),
    });
    const page = await source.readPage({ version: 'v1', sequence: 50 }, 25);
    assert.deepEqual(page.position, { version: 'v1', sequence: 0 });
    assert.equal(page.done, false);
    assert.deepEqual(page.studies.map((change) => change.study).sort(), ['1.1', '2.2']);
    assert.match(lines.join('\n'), /^error .*ends at Seq 1, below the checkpoint 50: its database was wiped/m);
    assert.ok(
      limits.every((limit) => limit >= 1),
      'never limit=0',
    );
  });
});

describe('Orthanc change rows that are not changes', () => {
  it('the client hands them on with their Seq, over real HTTP', async (t) => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(
        JSON.stringify({
          Changes: [
            { Seq: 5, ChangeType: 'NewStudy', ResourceType: 'Study', ID: 'st5' },
            { Seq: 6, ChangeType: 7, ResourceType: 'Study', ID: 'st6' },
            'not a row',
          ],
          Done: true,
          Last: 6,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const http = createServerHttpClient({ baseUrl: `http://127.0.0.1:${port}`, authorization: noAuthorization });
    const page = await createOrthancClient(http).changes(0, 10);
    assert.deepEqual(
      page.changes.map((change) => change.seq),
      [5],
    );
    assert.deepEqual(
      page.malformed?.map((row) => [row.sequence, row.raw]),
      [
        [6, { Seq: 6, ChangeType: 7, ResourceType: 'Study', ID: 'st6' }],
        [undefined, 'not a row'],
      ],
    );
    assert.match(page.malformed?.[0]?.reason ?? '', /^Orthanc GET \/changes: a row is not a change/);
  });

  it('the source passes them on to be recorded and moves past them', async () => {
    const client: OrthancClient = {
      changes: () =>
        Promise.resolve({
          changes: [row(5, 'NewStudy', 'Study', 'st5')],
          malformed: [{ sequence: 9, reason: 'not a change', raw: { Seq: 9 } }],
          done: true,
          last: 9,
        }),
      lastChange: () => Promise.resolve(undefined),
      studiesOf: () => Promise.resolve([{ id: 'st5', studyUid: '1.2.5' }]),
    };
    const source = createOrthancChangeSource({ orthanc: client, studyIds: memoryIds() });
    const page = await source.readPage({ version: 'v1', sequence: 4 }, 10);
    assert.deepEqual(page.studies, [{ study: '1.2.5', sequence: 5 }]);
    assert.deepEqual(page.badRows, [{ sequence: 9, reason: 'not a change', raw: { Seq: 9 } }]);
    assert.equal(page.rowsRead, 2);
    assert.deepEqual(
      page.position,
      { version: 'v1', sequence: 9 },
      'past the malformed row, not only the last good one',
    );
  });
});
