import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startDicomServer, type RunningDicomServer } from '../../../dev/dicom-server/index.js';
import { makeInstanceFile, makeSampleStudies, type InstanceSpec } from '../../../dev/samples/index.js';
import { noAuthorization } from '../../../shared/auth/index.js';
import { getAttribute, getString, Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { createMetadataStreamReader, createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { listen } from '../../support/loopback.js';

describe('getAttribute', () => {
  it('finds a tag whatever the case of its key, and reports an absent one as absent', () => {
    const upper: DicomJsonDataset = { '0020000D': { vr: 'UI', Value: ['1.2'] } };
    const lower: DicomJsonDataset = { '0020000d': { vr: 'UI', Value: ['1.3'] } };
    assert.equal(getString(upper, Tag.StudyInstanceUID), '1.2');
    assert.equal(getString(upper, '0020000d'), '1.2');
    assert.equal(getString(lower, Tag.StudyInstanceUID), '1.3');
    assert.equal(getAttribute(upper, Tag.PatientID), undefined);
    assert.equal(getAttribute(upper, Tag.PatientID), undefined, 'asked again (the key check is remembered)');
    assert.equal(getAttribute(lower, Tag.PatientID), undefined);
  });
});

describe('metadata read one instance at a time (real DICOM server over HTTP)', () => {
  let dicom: RunningDicomServer;
  let specs: InstanceSpec[];
  before(async () => {
    dicom = await startDicomServer();
    specs = makeSampleStudies({ studies: 1, seriesPerStudy: 3, instancesPerSeries: 40, seed: 5 });
    await dicom.storeFiles(specs.map(makeInstanceFile));
  });
  after(() => dicom.close());

  const http = () => createServerHttpClient({ baseUrl: dicom.url, authorization: noAuthorization });
  const sops = (datasets: DicomJsonDataset[]) => datasets.map((dataset) => getString(dataset, Tag.SOPInstanceUID));

  it('streams the same instances the whole-study read returns', async () => {
    const study = specs[0]!.studyUid;
    const streamed: DicomJsonDataset[] = [];
    const count = await createMetadataStreamReader(http(), 'v2').forEachInstance({ study }, (d) => streamed.push(d));
    const whole = await createStudyReader(http(), 'v2').readStudyMetadata(study);
    assert.equal(count, specs.length);
    assert.deepEqual(sops(streamed), sops(whole));
    assert.deepEqual(streamed, whole);
  });

  it('reads one series only, with one request', async () => {
    const { studyUid, seriesUid } = specs[50]!;
    dicom.resetRequestCount();
    const streamed: DicomJsonDataset[] = [];
    await createMetadataStreamReader(http(), 'v2').forEachInstance({ study: studyUid, series: seriesUid }, (d) =>
      streamed.push(d),
    );
    const expected = specs.filter((spec) => spec.seriesUid === seriesUid).map((spec) => spec.sopUid);
    assert.deepEqual(new Set(sops(streamed)), new Set(expected));
    assert.equal(dicom.traffic()['metadata-series']?.requests, 1);
    assert.ok((dicom.traffic()['metadata-series']?.bytes ?? 0) > 0, 'the bytes sent are counted');
  });

  it("gives 0 for a study that is gone, a retryable error for a 503 once retries are spent, and the caller's own error unchanged", async () => {
    const reader = createMetadataStreamReader(http(), 'v2', undefined, {
      retry: { fallbackBudgetMs: 0, maxAttempts: 1 },
    });
    assert.equal(await reader.forEachInstance({ study: '1.2.3.999' }, () => assert.fail('no instance expected')), 0);
    dicom.failNext(1, 503, '/studies');
    await assert.rejects(
      reader.forEachInstance({ study: specs[0]!.studyUid, series: specs[0]!.seriesUid }, () => undefined),
      (error: unknown) =>
        error instanceof RetryableError &&
        error.message.includes('503') &&
        error.location.series === specs[0]!.seriesUid,
    );
    const mine = new Error('mapping failed');
    await assert.rejects(
      reader.forEachInstance({ study: specs[0]!.studyUid }, () => {
        throw mine;
      }),
      (error: unknown) => error === mine,
    );
  });
});

describe('metadata stream decoded as strict UTF-8 (loopback server sending crafted chunks)', () => {
  let server: Server;
  let baseUrl = '';
  let chunks: Buffer[] = [];
  let requests = 0;
  before(async () => {
    server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/dicom+json' });
      const pieces = [...chunks];
      // One write per piece, apart in time, so each arrives as its own chunk.
      const next = () => {
        const piece = pieces.shift();
        if (piece === undefined) response.end();
        else response.write(piece, () => setTimeout(next, 15));
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const name = 'Müller^Hans\u{1F600}';
  const body = Buffer.from(
    JSON.stringify([
      { [Tag.PatientName]: { vr: 'PN', Value: [{ Alphabetic: name }] } },
      { [Tag.PatientID]: { vr: 'LO', Value: ['Ü-1'] } },
    ]),
  );
  const reader = () =>
    createMetadataStreamReader(createServerHttpClient({ baseUrl, authorization: noAuthorization }), 'v2', undefined, {
      retry: { fallbackBudgetMs: 60_000, sleep: () => Promise.resolve() },
    });

  it('decodes a multi-byte character split across chunks', async () => {
    const u = body.indexOf(Buffer.from('ü'));
    const emoji = body.indexOf(Buffer.from('\u{1F600}'));
    // Cut inside "ü" (2 bytes) and twice inside the emoji (4 bytes).
    chunks = [body.subarray(0, u + 1), body.subarray(u + 1, emoji + 1), body.subarray(emoji + 1, emoji + 3)];
    chunks.push(body.subarray(emoji + 3));
    const read: DicomJsonDataset[] = [];
    assert.equal(await reader().forEachInstance({ study: '1.2.3' }, (dataset) => read.push(dataset)), 2);
    assert.deepEqual(read[0]?.[Tag.PatientName], { vr: 'PN', Value: [{ Alphabetic: name }] });
    assert.equal(getString(read[1]!, Tag.PatientID), 'Ü-1');
  });

  it('refuses bytes that are not UTF-8 (in a chunk, or a character cut short at the end) as located bad data, read once', async () => {
    const u = body.indexOf(Buffer.from('ü'));
    const latin1 = Buffer.concat([body.subarray(0, u), Buffer.from([0xfc]), body.subarray(u + 2)]);
    const cutShort = Buffer.concat([body.subarray(0, -2), Buffer.from([0xc3])]);
    const intact = JSON.parse(body.toString('utf8')) as DicomJsonDataset[];
    // What was handed on before the fault is only what arrived intact (the caller fails the whole study anyway).
    for (const [label, pieces, handedOn] of [
      ['Latin-1 ü in a PatientName', [latin1.subarray(0, 10), latin1.subarray(10)], 0],
      ['a character cut short at the end', [cutShort], 1],
    ] as const) {
      chunks = [...pieces];
      requests = 0;
      const seen: DicomJsonDataset[] = [];
      await assert.rejects(
        reader().forEachInstance({ study: '1.2.3', series: '1.2.3.4' }, (dataset) => seen.push(dataset)),
        (error: unknown) => {
          assert.ok(error instanceof NonRetryableError, `${label}: ${String(error)}`);
          assert.equal(error.category, 'bad-dicom-data');
          assert.deepEqual(error.location, { study: '1.2.3', series: '1.2.3.4' });
          assert.match(
            error.message,
            /^DICOM GET v2\/studies\/1\.2\.3\/series\/1\.2\.3\.4\/metadata returned bytes that are not valid UTF-8/,
          );
          return true;
        },
        label,
      );
      assert.equal(requests, 1, `${label}: read once, not retried`);
      assert.deepEqual(seen, intact.slice(0, handedOn), `${label}: no instance with a changed value was handed on`);
    }
  });
});

/**
 * The rules the whole-body read keeps, kept by the stream the writer reads a study through (createStudyReader's
 * forEachStudyInstance): the DicomWeb:MaxMetadataBytes cap (axios does not cap a stream as it caps a body), an item
 * that is not an object handed over as it is (the writer records it as that instance's failure), a body that is not a
 * JSON array refused whole with the study named, a study that is gone read as none.
 */
describe('study metadata streamed: the whole-body read rules (loopback server)', () => {
  let body: () => Iterable<string> = () => [];
  let status = 200;
  let sent = 0;
  let server: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    server = await listen((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/dicom+json' });
      const pieces = body()[Symbol.iterator]();
      // Written as the client reads, so an endless body stops when the client stops reading.
      const next = (): void => {
        const piece = pieces.next();
        if (piece.done || response.destroyed) {
          response.end();
          return;
        }
        sent += Buffer.byteLength(piece.value);
        if (response.write(piece.value)) setImmediate(next);
        else response.once('drain', next);
      };
      response.on('close', () => undefined);
      next();
    });
  });
  after(() => server.close());

  const study = '1.2.840.5.1';
  const reader = (maxMetadataBytes?: number) =>
    createStudyReader(
      createServerHttpClient({ baseUrl: server.origin, authorization: noAuthorization }),
      'v2',
      undefined,
      {
        retry: { fallbackBudgetMs: 0, maxAttempts: 1 },
        ...(maxMetadataBytes !== undefined ? { maxMetadataBytes } : {}),
      },
    );
  const read = async (maxMetadataBytes?: number) => {
    const items: unknown[] = [];
    const count = await reader(maxMetadataBytes).forEachStudyInstance(study, undefined, (item) => items.push(item));
    return { count, items };
  };
  const instanceJson = (n: number) => JSON.stringify({ [Tag.SOPInstanceUID]: { vr: 'UI', Value: [`${study}.${n}`] } });

  it('stops reading past DicomWeb:MaxMetadataBytes: located bad data naming the setting, not retried', async () => {
    status = 200;
    sent = 0;
    // An endless array: only the cap ends it.
    body = function* () {
      yield '[';
      for (let n = 0; ; n++) yield `${n === 0 ? '' : ','}${instanceJson(n)}`;
    };
    const items: unknown[] = [];
    await assert.rejects(
      reader(64 * 1024).forEachStudyInstance(study, undefined, (item) => items.push(item)),
      (error: unknown) => {
        assert.ok(error instanceof NonRetryableError, String(error));
        assert.equal(error.category, 'bad-dicom-data');
        assert.deepEqual(error.location, { study, setting: 'DicomWeb:MaxMetadataBytes' });
        assert.match(
          error.message,
          /^DICOM GET v2\/studies\/1\.2\.840\.5\.1\/metadata failed: the response body exceeds 65536 bytes \(DicomWeb:MaxMetadataBytes\)/,
        );
        return true;
      },
    );
    assert.ok(items.length > 0 && items.length < 65536 / 40, `${items.length} instances handed over before the cap`);
    assert.ok(sent < 16 * 1024 * 1024, `the server wrote ${sent} bytes before the reader stopped`);
  });

  it('hands over an item that is not an object as it is, and the instances around it', async () => {
    status = 200;
    const items = [JSON.parse(instanceJson(1)), null, 'instance', 7, [], JSON.parse(instanceJson(2))] as unknown[];
    const text = JSON.stringify(items);
    body = function* () {
      for (let start = 0; start < text.length; start += 7) yield text.slice(start, start + 7);
    };
    assert.deepEqual(await read(), { count: 6, items });
  });

  it('refuses a body that is not a JSON array of JSON values, naming the request and the study', async () => {
    status = 200;
    for (const text of [`[${instanceJson(1)},{"00080018":tru}]`, '{"not":"an array"}', `[${instanceJson(1)}`, '']) {
      body = () => [text];
      await assert.rejects(read(), (error: unknown) => {
        assert.ok(error instanceof NonRetryableError, `${text}: ${String(error)}`);
        assert.equal(error.category, 'bad-dicom-data');
        assert.equal(error.location.study, study);
        assert.match(error.message, /^DICOM GET v2\/studies\/1\.2\.840\.5\.1\/metadata returned metadata that is not/);
        return true;
      });
    }
  });

  it('reads a study that is gone (404, 204) as no instance', async () => {
    for (const gone of [404, 204]) {
      status = gone;
      body = () => [];
      assert.deepEqual(await read(), { count: 0, items: [] });
    }
  });
});
