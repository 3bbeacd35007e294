import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noAuthorization } from '../../../shared/auth/index.js';
import { Tag } from '../../../shared/dicomweb/dicomJson.js';
import { createStudyReader, type StudyReader } from '../../../shared/dicomweb/studyReader.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { countStudyInstances, readStudyIntake, type StudyIntake } from '../../../shared/sync/studyIntake.js';
import { ctDoseReport } from '../../support/ctDoseReport.js';
import { listen } from '../../support/loopback.js';
import { attr, instance, options, pn, studyUid } from '../../support/mappingFixtures.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * The writer's intake of a study's metadata, read as it streams in over HTTP: what it keeps is what reading the whole
 * array gives, and of the datasets only those the mapping reads later (the winner's, the dose reports').
 */
describe('readStudyIntake', () => {
  const mapping = { ...options, generateObservations: true };
  const series = '1.2.3.1';
  const ct = (n: number, name: string) => instance(series, `${series}.${n}`, { [Tag.PatientName]: pn(name) });
  const dose = ctDoseReport([{ uid: '1.2.3.9.1.1', ctdiVol: 5, dlp: 100 }], 100);
  const items: unknown[] = [
    ct(1, 'First^Stored'),
    null,
    ct(3, 'Last^Stored'),
    dose,
    { ...ct(4, 'Bad^Shape'), [Tag.SeriesNumber]: { vr: 'IS', Value: 'not an array' } },
    ct(2, 'Middle^Stored'),
    instance(series, `${series}.5`, { [Tag.PatientID]: null }),
    'not an instance',
  ];
  const sequences = new Map([
    [`${series}.1`, 10],
    [`${series}.2`, 20],
    [`${series}.3`, 30],
    ['1.2.3.9.1', 15],
  ]);

  let server: Awaited<ReturnType<typeof listen>>;
  let streamed: StudyReader;
  before(async () => {
    const text = JSON.stringify(items);
    server = await listen((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json' });
      // Small writes, so instances arrive cut across chunks.
      for (let start = 0; start < text.length; start += 100) response.write(text.slice(start, start + 100));
      response.end();
    });
    streamed = createStudyReader(
      createServerHttpClient({ baseUrl: server.origin, authorization: noAuthorization }),
      'v2',
    );
  });
  after(() => server.close());

  const intakeOf = (reader: StudyReader) => readStudyIntake(reader, { study: studyUid, sequences }, mapping);
  const whole = studyReaderOver(() => Promise.resolve(structuredClone(items)));

  it('streamed, keeps what reading the whole array keeps', async () => {
    const fromStream = await intakeOf(streamed);
    const fromWhole = await intakeOf(whole);
    assert.deepEqual(fromStream, fromWhole);
  });

  it('records each malformed item as its own, lists every SOP returned, and screens the rest', async () => {
    const intake = await intakeOf(streamed);
    assert.deepEqual(
      intake.malformed.map((item) => [
        item.instance,
        item.tag,
        /not a DICOM JSON object|not an array/.test(item.reason),
      ]),
      [
        [undefined, '(dataset)', true],
        [`${series}.4`, '(0020,0011)', true],
        [undefined, '(dataset)', true],
      ],
    );
    assert.deepEqual(
      [...intake.present].sort(),
      [`${series}.1`, `${series}.2`, `${series}.3`, `${series}.4`, `${series}.5`, '1.2.3.9.1', undefined].sort(),
    );
    const { screened } = intake;
    assert.equal(screened.returned, 5);
    assert.deepEqual(
      screened.instances.map((kept) => kept.sop),
      [`${series}.1`, `${series}.3`, '1.2.3.9.1', `${series}.2`],
    );
    assert.deepEqual(
      screened.failures.map((failure) => failure.instance),
      [`${series}.5`],
    );
    assert.equal(screened.read.winner?.record.sop, `${series}.3`, 'the instance stored last wins');
    assert.deepEqual(screened.read.winner?.instance.dataset[Tag.PatientName], pn('Last^Stored'));
    assert.equal(screened.hasDoseReport, true);
    assert.deepEqual(
      screened.doseReports.map((report) => report.dataset[Tag.SOPInstanceUID]),
      [attr('UI', '1.2.3.9.1')],
    );
  });

  it('holds no dataset but the winner’s and the dose report’s', async () => {
    const intake = await intakeOf(streamed);
    assert.deepEqual(datasetsHeld(intake).sort(), [`${series}.3`, '1.2.3.9.1']);
  });
});

/** The SOP Instance UIDs of the DICOM JSON datasets anywhere in the intake's object graph. */
function datasetsHeld(intake: StudyIntake): string[] {
  const seen = new Set<object>();
  const sops: string[] = [];
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    const sop = (value as Record<string, { Value?: unknown[] }>)[Tag.SOPInstanceUID]?.Value?.[0];
    if (typeof sop === 'string') sops.push(sop);
    const children = value instanceof Map || value instanceof Set ? [...value.values()] : Object.values(value);
    for (const child of children) visit(child);
  };
  visit(intake);
  return sops;
}

/**
 * Which requests the intake makes: only the series named, one request each, when series are named; the whole study
 * otherwise; always streamed (the study's parsed metadata is never held).
 */
describe('readStudyIntake and countStudyInstances: what is read', () => {
  const seriesUid = (n: number) => `1.2.3.${n}`;
  const stored = [1, 2, 3].flatMap((s) => [1, 2].map((n) => instance(seriesUid(s), `${seriesUid(s)}.${n}`)));
  const sequences = new Map([[`${seriesUid(2)}.2`, 7]]);
  const requests: string[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  let reader: StudyReader;
  before(async () => {
    server = await listen((request, response) => {
      const series = /\/series\/([^/]+)\/metadata$/.exec(request.url ?? '')?.[1];
      requests.push(series === undefined ? 'study' : `series ${decodeURIComponent(series)}`);
      const body = stored.filter(
        (dataset) => series === undefined || dataset[Tag.SeriesInstanceUID]?.Value?.[0] === series,
      );
      response.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(body));
    });
    reader = createStudyReader(
      createServerHttpClient({ baseUrl: server.origin, authorization: noAuthorization }),
      'v2',
    );
  });
  after(() => server.close());
  const made = async <T>(read: () => Promise<T>) => {
    requests.length = 0;
    const result = await read();
    return { result, requests: [...requests] };
  };
  const sopsOf = (intake: StudyIntake) => [...intake.present].sort();

  it('with series: each series named, one request each, and only they are kept', async () => {
    const named = [seriesUid(2), seriesUid(3)];
    const { result: intake, requests: sent } = await made(() =>
      readStudyIntake(reader, { study: studyUid, sequences, series: named }, options),
    );
    assert.deepEqual(sent, [`series ${seriesUid(2)}`, `series ${seriesUid(3)}`]);
    assert.deepEqual(intake.series, new Set(named));
    assert.deepEqual(sopsOf(intake), [
      `${seriesUid(2)}.1`,
      `${seriesUid(2)}.2`,
      `${seriesUid(3)}.1`,
      `${seriesUid(3)}.2`,
    ]);
    assert.equal(intake.screened.returned, 4);
    assert.equal(intake.screened.read.winner?.record.sop, `${seriesUid(2)}.2`);
  });

  it('without series: the whole study, streamed', async () => {
    const { result: intake, requests: sent } = await made(() =>
      readStudyIntake(reader, { study: studyUid, sequences }, options),
    );
    assert.deepEqual(sent, ['study']);
    assert.equal(intake.series, undefined);
    assert.equal(intake.present.size, 6);
    assert.equal(intake.screened.returned, 6);
  });

  it('counts the study’s instances, streamed (never held)', async () => {
    assert.deepEqual(await made(() => countStudyInstances(reader, studyUid)), {
      result: 6,
      requests: ['study'],
    });
  });
});
