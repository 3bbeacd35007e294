import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChangeFeedEntry } from '../../../shared/dicomweb/changeFeedEntry.js';
import { getPersonName, getString, Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import {
  encodeStowBody,
  parseMultipart,
  startDicomServer,
  type RunningDicomServer,
} from '../../../dev/dicom-server/index.js';
import { contentTypeParameter } from '../../../dev/dicom-server/multipart.js';
import { parseInstance } from '../../../dev/dicom-server/part10.js';
import { makeInstanceFile, makeSampleStudies, uid, type InstanceSpec } from '../../../dev/samples/index.js';

const servers: RunningDicomServer[] = [];
async function server(options: Parameters<typeof startDicomServer>[0] = {}): Promise<RunningDicomServer> {
  const started = await startDicomServer(options);
  servers.push(started);
  return started;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function stow(base: string, files: Buffer[], path = '/v2/studies') {
  const { body, contentType } = encodeStowBody(files);
  const response = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: response.status, body: (await response.json()) as DicomJsonDataset };
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

async function feed(base: string, query = ''): Promise<ChangeFeedEntry[]> {
  const { status, body } = await getJson<ChangeFeedEntry[]>(`${base}/v1/changefeed?limit=100${query}`);
  assert.equal(status, 200);
  return body;
}

function sequenceItems(dataset: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  return (dataset[tag]?.Value ?? []) as DicomJsonDataset[];
}

const oneStudy = (seed: number, series = 2, instances = 2) =>
  makeSampleStudies({ studies: 1, seriesPerStudy: series, instancesPerSeries: instances, seed });

void describe('STOW, QIDO and WADO round trip', () => {
  let dicom: RunningDicomServer;
  const specs = oneStudy(11);
  const first = specs[0]!;
  const files = specs.map(makeInstanceFile);
  before(async () => {
    dicom = await server();
  });

  void it('stores generated files and lists them in ReferencedSOPSequence', async () => {
    const { status, body } = await stow(dicom.url, files);
    assert.equal(status, 200);
    const referenced = sequenceItems(body, '00081199');
    assert.deepEqual(
      referenced.map((item) => getString(item, '00081155')),
      specs.map((s) => s.sopUid),
    );
    assert.equal(
      getString(referenced[0]!, '00081190'),
      `${dicom.url}/v2/studies/${first.studyUid}/series/${first.seriesUid}/instances/${first.sopUid}`,
    );
    assert.equal(body['00081198'], undefined);
  });

  void it('answers QIDO at study, series and instance level', async () => {
    const studies = await getJson<DicomJsonDataset[]>(`${dicom.url}/v2/studies?PatientID=${first.patientId}`);
    assert.equal(studies.status, 200);
    assert.equal(studies.body.length, 1);
    const study = studies.body[0]!;
    assert.equal(getString(study, Tag.StudyInstanceUID), first.studyUid);
    assert.deepEqual(getPersonName(study, Tag.PatientName), { Alphabetic: first.patientName });
    assert.deepEqual(study['00201208']?.Value, [4]);
    assert.deepEqual(study[Tag.ModalitiesInStudy]?.Value, [first.modality]);
    assert.equal(getString(study, Tag.StudyDate), first.studyDate);

    const series = await getJson<DicomJsonDataset[]>(`${dicom.url}/studies/${first.studyUid}/series`);
    assert.equal(series.body.length, 2);
    assert.deepEqual(series.body[0]!['00201209']?.Value, [2]);
    const instances = await getJson<DicomJsonDataset[]>(`${dicom.url}/v1/studies/${first.studyUid}/instances`);
    assert.equal(instances.body.length, 4);
    const ofSeries = await getJson<DicomJsonDataset[]>(
      `${dicom.url}/studies/${first.studyUid}/series/${first.seriesUid}/instances?limit=1&offset=1`,
    );
    assert.deepEqual(
      ofSeries.body.map((i) => getString(i, Tag.SOPInstanceUID)),
      [specs[1]!.sopUid],
    );
    const none = await fetch(`${dicom.url}/studies?PatientID=nobody`);
    assert.equal(none.status, 204);
    assert.equal((await fetch(`${dicom.url}/studies?NoSuchKey=1`)).status, 400);
  });

  void it('returns metadata as stored: PN as objects, IS as numbers, no pixel data', async () => {
    const { status, body } = await getJson<DicomJsonDataset[]>(
      `${dicom.url}/v2/studies/${first.studyUid}/series/${first.seriesUid}/instances/${first.sopUid}/metadata`,
    );
    assert.equal(status, 200);
    const [dataset] = body;
    assert.ok(dataset);
    assert.deepEqual(dataset[Tag.PatientName], { vr: 'PN', Value: [{ Alphabetic: first.patientName }] });
    assert.deepEqual(dataset[Tag.InstanceNumber], { vr: 'IS', Value: [1] });
    assert.equal(getString(dataset, Tag.AccessionNumber), first.accessionNumber);
    assert.equal(getString(dataset, Tag.BodyPartExamined), first.bodyPart);
    assert.equal(dataset['7FE00010'], undefined);
    const study = await getJson<DicomJsonDataset[]>(`${dicom.url}/studies/${first.studyUid}/metadata`);
    assert.equal(study.body.length, 4);
  });

  void it('retrieves the stored Part-10 file byte for byte', async () => {
    const response = await fetch(
      `${dicom.url}/studies/${first.studyUid}/series/${first.seriesUid}/instances/${first.sopUid}`,
    );
    assert.equal(response.status, 200);
    const contentType = response.headers.get('content-type') ?? '';
    assert.match(contentType, /^multipart\/related/);
    const parts = parseMultipart(
      Buffer.from(await response.arrayBuffer()),
      contentTypeParameter(contentType, 'boundary')!,
    );
    assert.equal(parts.length, 1);
    assert.deepEqual(parts[0]!.body, files[0]);
  });

  void it('reports failed files with their reasons', async () => {
    const noSop = makeInstanceFile({ ...first, sopUid: '9.9', extra: { '00080018': { vr: 'UI' } } });
    const good = makeInstanceFile({ ...first, sopUid: uid('extra', 1) });
    const mixed = await stow(dicom.url, [good, noSop, Buffer.from('not a DICOM file')]);
    assert.equal(mixed.status, 202);
    assert.deepEqual(
      sequenceItems(mixed.body, '00081198').map((item) => item['00081197']?.Value?.[0]),
      [43264, 272],
    );
    assert.equal(sequenceItems(mixed.body, '00081199').length, 1);

    const wrongStudy = await stow(
      dicom.url,
      [makeInstanceFile({ ...first, sopUid: uid('extra', 2) })],
      '/studies/1.2.3',
    );
    assert.equal(wrongStudy.status, 409);
    assert.deepEqual(sequenceItems(wrongStudy.body, '00081198')[0]?.['00081197']?.Value, [43265]);
  });

  void it('answers 404 for what is not there', async () => {
    const missing = [
      `/studies/1.2.3/metadata`,
      `/studies/${first.studyUid}/series/1.2.3/metadata`,
      `/studies/${first.studyUid}/series/${first.seriesUid}/instances/1.2.3`,
      `/v2/nothing-here`,
    ];
    for (const path of missing) assert.equal((await fetch(`${dicom.url}${path}`)).status, 404, path);
    assert.equal((await fetch(`${dicom.url}/studies/1.2.3`, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(`${dicom.url}/studies/not-a-uid/metadata`)).status, 400);
  });
});

void describe('change feed states', () => {
  let dicom: RunningDicomServer;
  const specs = oneStudy(21, 1, 3);
  const [a, b, c] = specs as [InstanceSpec, InstanceSpec, InstanceSpec];
  before(async () => {
    dicom = await server();
    await dicom.storeFiles(specs.map(makeInstanceFile));
  });

  void it('turns older rows replaced when an instance is stored again, with the newest metadata on all', async () => {
    await stow(dicom.url, [makeInstanceFile({ ...a, patientName: 'Renamed^Ann' })]);
    const rows = (await feed(dicom.url)).filter((row) => row.sopInstanceUid === a.sopUid);
    assert.deepEqual(
      rows.map((row) => [row.action, row.state]),
      [
        ['create', 'replaced'],
        ['create', 'current'],
      ],
    );
    for (const row of rows)
      assert.deepEqual(getPersonName(row.metadata!, Tag.PatientName), { Alphabetic: 'Renamed^Ann' });
  });

  void it('turns every row of a deleted instance deleted, without metadata', async () => {
    const path = `/studies/${b.studyUid}/series/${b.seriesUid}/instances/${b.sopUid}`;
    assert.equal((await fetch(`${dicom.url}${path}`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${dicom.url}${path}`, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(`${dicom.url}${path}/metadata`)).status, 404);
    const rows = (await feed(dicom.url)).filter((row) => row.sopInstanceUid === b.sopUid);
    assert.deepEqual(
      rows.map((row) => [row.action, row.state, row.metadata]),
      [
        ['create', 'deleted', undefined],
        ['delete', 'deleted', undefined],
      ],
    );
    assert.equal(dicom.currentInstances().length, 2);
  });

  void it('applies a bulk update: update rows, older rows replaced, new metadata and file', async () => {
    const response = await fetch(`${dicom.url}/v2/studies/$bulkUpdate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        studyInstanceUids: [a.studyUid],
        changeDataset: { '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Updated^Una' }] } },
      }),
    });
    assert.equal(response.status, 202);
    const operation = (await response.json()) as { id: string; href: string };
    assert.equal((await getJson<{ status: string }>(operation.href)).body.status, 'succeeded');

    const rows = await feed(dicom.url);
    const updates = rows.filter((row) => row.action === 'update');
    assert.deepEqual(updates.map((row) => row.sopInstanceUid).sort(), [a.sopUid, c.sopUid].sort());
    for (const row of updates) {
      assert.equal(row.state, 'current');
      assert.deepEqual(getPersonName(row.metadata!, Tag.PatientName), { Alphabetic: 'Updated^Una' });
    }
    const cRows = rows.filter((row) => row.sopInstanceUid === c.sopUid).map((row) => row.state);
    assert.deepEqual(cRows, ['replaced', 'current']);

    const file = await fetch(`${dicom.url}/studies/${c.studyUid}/series/${c.seriesUid}/instances/${c.sopUid}`, {
      headers: { accept: 'application/dicom' },
    });
    const parsed = parseInstance(Buffer.from(await file.arrayBuffer()));
    assert.deepEqual(getPersonName(parsed.dataset, Tag.PatientName), { Alphabetic: 'Updated^Una' });
    assert.equal(getString(parsed.dataset, Tag.PatientID), c.patientId);
  });

  void it('refuses a bulk update that would change identity', async () => {
    const response = await fetch(`${dicom.url}/v2/studies/$bulkUpdate`, {
      method: 'POST',
      body: JSON.stringify({
        studyInstanceUids: [a.studyUid],
        changeDataset: { '0020000D': { vr: 'UI', Value: ['1.2'] } },
      }),
    });
    assert.equal(response.status, 400);
  });

  void it('turns deleted rows replaced when a deleted instance is stored again', async () => {
    await dicom.storeFiles([makeInstanceFile(b)]);
    const rows = (await feed(dicom.url)).filter((row) => row.sopInstanceUid === b.sopUid);
    assert.deepEqual(
      rows.map((row) => row.state),
      ['replaced', 'replaced', 'current'],
    );
  });
});

void describe('retrieve and delete at study and series level', () => {
  let dicom: RunningDicomServer;
  const specs = oneStudy(71, 2, 2);
  const first = specs[0]!;
  before(async () => {
    dicom = await server();
    await dicom.storeFiles(specs.map(makeInstanceFile));
  });

  void it('retrieves a whole study as one multipart body', async () => {
    const response = await fetch(`${dicom.url}/v2/studies/${first.studyUid}`);
    const contentType = response.headers.get('content-type') ?? '';
    const parts = parseMultipart(
      Buffer.from(await response.arrayBuffer()),
      contentTypeParameter(contentType, 'boundary')!,
    );
    assert.deepEqual(parts.map((part) => parseInstance(part.body).sop).sort(), specs.map((s) => s.sopUid).sort());
  });

  void it('deletes a series: one delete row per instance, the other series untouched', async () => {
    const response = await fetch(`${dicom.url}/studies/${first.studyUid}/series/${first.seriesUid}`, {
      method: 'DELETE',
    });
    assert.equal(response.status, 204);
    const rows = await feed(dicom.url);
    const deletes = rows.filter((row) => row.action === 'delete');
    assert.deepEqual(
      deletes.map((row) => row.sopInstanceUid),
      [specs[0]!.sopUid, specs[1]!.sopUid],
    );
    assert.deepEqual(
      rows.map((row) => row.state),
      ['deleted', 'deleted', 'current', 'current', 'deleted', 'deleted'],
    );
    assert.deepEqual(
      dicom.currentInstances().map((i) => i.sop),
      [specs[2]!.sopUid, specs[3]!.sopUid],
    );
    assert.equal(await dicom.deleteStudy(first.studyUid), 2);
    assert.equal((await fetch(`${dicom.url}/studies/${first.studyUid}/metadata`)).status, 404);
  });
});

void describe('v1 change feed windows', () => {
  let dicom: RunningDicomServer;
  before(async () => {
    // sequences 1, 2, 13, 14, 15
    dicom = await server({ sequenceGaps: (seq) => (seq === 2 ? 10 : 0) });
    await dicom.storeFiles(oneStudy(31, 1, 5).map(makeInstanceFile));
  });

  void it('reads a window of sequence numbers, so a gap gives an empty page while latest is ahead', async () => {
    const latest = await getJson<ChangeFeedEntry>(`${dicom.url}/v1/changefeed/latest`);
    assert.equal(latest.body.sequence, 15);
    assert.deepEqual(await sequences(dicom.url, '/v1/changefeed?offset=0&limit=3'), [1, 2]);
    assert.deepEqual(await sequences(dicom.url, '/v1/changefeed?offset=2&limit=10'), []);
    assert.deepEqual(await sequences(dicom.url, '/v1/changefeed?offset=12&limit=2'), [13, 14]);
    assert.deepEqual(await sequences(dicom.url, '/changefeed?Offset=14'), [15]);
  });

  void it('refuses out-of-range parameters with 400 and a message', async () => {
    for (const query of ['limit=0', 'limit=101', 'offset=-1', 'offset=x', 'includeMetadata=maybe']) {
      const response = await fetch(`${dicom.url}/v1/changefeed?${query}`);
      assert.equal(response.status, 400, query);
      assert.ok((await response.text()).length > 0);
    }
  });

  void it('leaves metadata out when asked to', async () => {
    const rows = await getJson<ChangeFeedEntry[]>(`${dicom.url}/v1/changefeed?includemetadata=false`);
    assert.ok(rows.body.every((row) => !('metadata' in row)));
  });
});

async function sequences(base: string, path: string): Promise<number[]> {
  const { status, body } = await getJson<ChangeFeedEntry[]>(`${base}${path}`);
  assert.equal(status, 200);
  return body.map((row) => row.sequence);
}

void describe('v2 change feed', () => {
  let dicom: RunningDicomServer;
  let now = Date.parse('2024-05-01T10:00:00.000Z');
  const t1 = '2024-05-01T10:00:00.000Z';
  const t2 = '2024-05-01T10:00:05.000Z';
  before(async () => {
    dicom = await server({ clock: () => new Date(now) });
    const specs = oneStudy(41, 1, 8);
    await dicom.storeFiles(specs.slice(0, 5).map(makeInstanceFile));
    now = Date.parse(t2);
    await dicom.storeFiles(specs.slice(5).map(makeInstanceFile));
  });

  void it('pages with offset through rows that share a timestamp', async () => {
    const seen: number[] = [];
    for (let offset = 0; offset < 10; offset += 3) {
      seen.push(...(await sequences(dicom.url, `/v2/changefeed?startTime=${t1}&offset=${offset}&limit=3`)));
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  void it('takes start inclusive, end exclusive, names case-insensitive', async () => {
    assert.deepEqual(await sequences(dicom.url, `/v2/changefeed?StartTime=${t1}&ENDTIME=${t2}`), [1, 2, 3, 4, 5]);
    assert.deepEqual(
      await sequences(dicom.url, `/v2/changefeed?startTime=${encodeURIComponent('2024-05-01T12:00:05+02:00')}`),
      [6, 7, 8],
    );
    assert.deepEqual(await sequences(dicom.url, `/v2/changefeed?endtime=${t1}`), []);
    const latest = await getJson<ChangeFeedEntry>(`${dicom.url}/v2/changefeed/latest`);
    assert.equal(latest.body.sequence, 8);
    assert.equal(latest.body.timestamp, t2);
  });

  void it('refuses bad dates and limits with 400', async () => {
    for (const query of [
      'startTime=2024-05-01T10:00:00',
      'endTime=yesterday',
      'limit=201',
      'limit=0',
      `startTime=${t2}&endTime=${t1}`,
    ]) {
      assert.equal((await fetch(`${dicom.url}/v2/changefeed?${query}`)).status, 400, query);
    }
  });
});

void describe('server options and fault injection', () => {
  void it('answers the latest entry of an empty feed with sequence 0', async () => {
    const dicom = await server();
    assert.deepEqual((await getJson(`${dicom.url}/v1/changefeed/latest`)).body, { sequence: 0 });
    assert.deepEqual((await getJson(`${dicom.url}/v2/changefeed`)).body, []);
  });

  void it('writes PascalCase names with lower-case values when asked to', async () => {
    const dicom = await server({ nameCase: 'pascal' });
    assert.deepEqual((await getJson(`${dicom.url}/v2/changefeed/latest`)).body, { Sequence: 0 });
    const [spec] = oneStudy(51, 1, 1);
    await dicom.storeFiles([makeInstanceFile(spec!)]);
    const { body } = await getJson<Record<string, unknown>>(`${dicom.url}/v1/changefeed/latest`);
    assert.equal(body.Sequence, 1);
    assert.equal(body.StudyInstanceUid, spec!.studyUid);
    assert.equal(body.Action, 'create');
    assert.equal(body.State, 'current');
    assert.equal(body.PartitionName, 'Microsoft.Default');
    assert.ok(body.Metadata);
    assert.equal(body.sequence, undefined);
  });

  void it('keeps partitions apart but reports them all in the one change feed', async () => {
    const dicom = await server();
    const [spec] = oneStudy(61, 1, 1);
    const { status } = await stow(dicom.url, [makeInstanceFile(spec!)], '/v2/partitions/clinic-a/studies');
    assert.equal(status, 200);
    assert.equal((await fetch(`${dicom.url}/v2/studies`)).status, 204);
    assert.equal((await getJson<unknown[]>(`${dicom.url}/v2/partitions/clinic-a/studies`)).body.length, 1);
    const [row] = await feed(dicom.url);
    assert.equal(row?.partitionName, 'clinic-a');
    assert.equal((await fetch(`${dicom.url}/v2/partitions/clinic-a/changefeed`)).status, 404);
  });

  void it('fails the next requests on a path prefix, then recovers; counts requests', async () => {
    const dicom = await server();
    dicom.failNext(2, 503, '/changefeed');
    assert.equal((await fetch(`${dicom.url}/studies`)).status, 204);
    assert.equal((await fetch(`${dicom.url}/v1/changefeed`)).status, 503);
    assert.equal((await fetch(`${dicom.url}/v2/changefeed`)).status, 503);
    assert.equal((await fetch(`${dicom.url}/v1/changefeed`)).status, 200);
    assert.equal(dicom.requestCount(), 4);
    dicom.resetRequestCount();
    assert.equal(dicom.requestCount(), 0);
  });

  void it('answers 401 when authorize says no', async () => {
    const dicom = await server({ authorize: (header) => header === 'Bearer good' });
    assert.equal((await fetch(`${dicom.url}/v1/changefeed`)).status, 401);
    assert.equal(
      (await fetch(`${dicom.url}/v1/changefeed`, { headers: { authorization: 'Bearer good' } })).status,
      200,
    );
  });
});
