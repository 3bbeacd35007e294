import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { FHIR_PROFILE_NAMES, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/index.js';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import type { InstanceChange, StudyMessage } from '../../../shared/queue/studyMessage.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { C, ctDoseContent, srDataset } from '../../support/doseReports.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { listen } from '../../support/loopback.js';
import { attr, instance, options as mapping, pn, studyUid } from '../../support/mappingFixtures.js';

/**
 * A change to some series of a study FHIR already holds reads only those series (one WADO-RS series request each) and
 * keeps the others as FHIR holds them, writing exactly what a whole-study read writes: after each sync, a sync that
 * reads the whole study finds nothing to change. In any doubt (a trimmed message, an instance not where its row says,
 * a winner the message does not name, a time zone offset the kept series were not written with) the whole study is
 * read.
 */
for (const profile of FHIR_PROFILE_NAMES) {
  describe(`syncStudy reads only the series a change names (profile ${profile})`, () => {
    let server: RunningFhirServer;
    let fhir: FhirClient;
    useLocalFhirServer((local) => ({ server, fhir } = local), { profile });

    let held: DicomJsonDataset[] = [];
    const reads: string[] = [];
    let dicom: Awaited<ReturnType<typeof listen>>;
    before(async () => {
      dicom = await listen((request, response) => {
        const url = request.url ?? '';
        const series = /\/series\/([^/]+)\/metadata$/.exec(url)?.[1];
        reads.push(series === undefined ? 'study' : `series ${decodeURIComponent(series)}`);
        const body = held.filter((dataset) => series === undefined || seriesOf(dataset) === decodeURIComponent(series));
        if (body.length === 0) response.writeHead(404).end();
        else response.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(body));
      });
    });
    after(() => dicom.close());

    const seriesOf = (dataset: DicomJsonDataset) => dataset[Tag.SeriesInstanceUID]?.Value?.[0];
    const series = (letter: 'A' | 'B' | 'C') => `1.2.3.${{ A: 1, B: 2, C: 3 }[letter]}`;
    const sopOf = (letter: 'A' | 'B' | 'C', n: number) => `${series(letter)}.${n}`;
    /** Each instance says something of its own at study level, so a wrong winner shows. */
    const stored = (letter: 'A' | 'B' | 'C', n: number, extra: Parameters<typeof instance>[2] = {}) =>
      instance(series(letter), sopOf(letter, n), {
        [Tag.PatientName]: pn(`Name^${letter}${n}`),
        [Tag.StudyDescription]: attr('LO', `from ${letter}${n}`),
        [Tag.StudyDate]: attr('DA', '20240115'),
        [Tag.StudyTime]: attr('TM', '101500'),
        [Tag.SeriesDate]: attr('DA', '20240115'),
        [Tag.SeriesTime]: attr('TM', '1020'),
        [Tag.TimezoneOffsetFromUTC]: attr('SH', '+0100'),
        [Tag.SeriesNumber]: attr('IS', { A: 1, B: 2, C: 3 }[letter]),
        [Tag.InstanceNumber]: attr('IS', n),
        ...extra,
      });
    const change = (letter: 'A' | 'B' | 'C', n: number, sequence: number): InstanceChange => ({
      series: series(letter),
      sop: sopOf(letter, n),
      action: 'create',
      sequence,
      state: 'current',
    });
    const message = (changes: InstanceChange[], extra: Partial<StudyMessage> = {}): StudyMessage => ({
      study: studyUid,
      maxSequence: Math.max(0, ...changes.map((c) => c.sequence)),
      changes,
      ...extra,
    });
    const sync = async (msg: StudyMessage, seriesReadsFrom: number, settings = mapping) => {
      reads.length = 0;
      const reader = createStudyReader(
        createServerHttpClient({ baseUrl: dicom.origin, authorization: noAuthorization }),
        'v2',
        undefined,
        { retry: { fallbackBudgetMs: 0, maxAttempts: 1 } },
      );
      const deps = { dicom: reader, fhir, recordFailure: () => Promise.resolve(), validate: false as const };
      const result = await syncStudy(msg, deps, { mapping: settings, seriesReadsFrom });
      return { result, reads: [...reads] };
    };
    /** What a whole-study read makes of the same message: nothing to change when the series read wrote it all. */
    const wholeReadFindsNothingToChange = async (msg: StudyMessage, settings = mapping) => {
      const whole = await sync(msg, Number.POSITIVE_INFINITY, settings);
      assert.deepEqual(whole.reads, ['study']);
      assert.equal(whole.result.outcome, 'unchanged', 'a whole-study read writes nothing more');
    };
    const patientName = async () => (await server.all<Patient>('Patient')).map((p) => p.name?.[0]?.family).sort();
    const imagingStudy = async () => (await server.all<ImagingStudy>('ImagingStudy'))[0];

    beforeEach(async () => {
      await createOurEndpoint(fhir, mapping);
      held = [stored('A', 1), stored('A', 2), stored('B', 1), stored('B', 2), stored('C', 1), stored('C', 2)];
      const first = await sync(
        message(held.map((_, i) => change((['A', 'A', 'B', 'B', 'C', 'C'] as const)[i]!, (i % 2) + 1, i + 1))),
        1,
      );
      assert.deepEqual(first.reads, ['study'], 'a new study is read whole');
      assert.equal(first.result.outcome, 'created');
    });

    it('a new instance in one series: that series read, the winner’s study and Patient data written', async () => {
      held.push(stored('B', 3));
      const msg = message([change('B', 3, 20)]);
      const { result, reads: made } = await sync(msg, 1);
      assert.deepEqual(made, [`series ${series('B')}`]);
      assert.equal(result.outcome, 'updated');
      assert.equal(result.instances, 7);
      assert.equal((await imagingStudy())?.description, 'from B3');
      assert.deepEqual(await patientName(), ['Name']);
      assert.equal((await server.all<Patient>('Patient'))[0]?.name?.[0]?.given?.[0], 'B3');
      await wholeReadFindsNothingToChange(msg);
    });

    it('with dose Observations on: the series read while no SR is read or held; a dose SR read: the whole study', async () => {
      const observations = { ...mapping, generateObservations: true };
      held.push(stored('B', 3));
      const first = message([change('B', 3, 20)]);
      assert.deepEqual((await sync(first, 1, observations)).reads, [`series ${series('B')}`]);
      await wholeReadFindsNothingToChange(first, observations);

      held.push(
        srDataset({
          studyUid,
          seriesUid: series('C'),
          sopUid: sopOf('C', 9),
          patientId: 'PID-1',
          title: C.xRayDoseReport,
          content: ctDoseContent([{ uid: `${sopOf('C', 9)}.1`, ctdiVol: 5, dlp: 100 }], 100),
          extra: { [Tag.TimezoneOffsetFromUTC]: attr('SH', '+0100') },
        }),
      );
      const withReport = message([change('C', 9, 30)]);
      const { reads: made, result } = await sync(withReport, 1, observations);
      assert.deepEqual(made, [`series ${series('C')}`, 'study']);
      assert.equal(result.observations?.created, 2, 'the summary and the irradiation event');
      await wholeReadFindsNothingToChange(withReport, observations);
      // FHIR now holds an SR: the study is read whole.
      held.push(stored('A', 3));
      assert.deepEqual((await sync(message([change('A', 3, 31)]), 1, observations)).reads, ['study']);
    });

    it('not below seriesReadsFrom instances: the whole study is read', async () => {
      held.push(stored('B', 3));
      const { reads: made } = await sync(message([change('B', 3, 20)]), 7);
      assert.deepEqual(made, ['study']);
    });

    it('a trimmed message (omitted changes may name other series): the whole study is read', async () => {
      held.push(stored('B', 3), stored('C', 3));
      const msg = message([change('B', 3, 21)], { omittedChanges: 1 });
      const { reads: made } = await sync(msg, 1);
      assert.deepEqual(made, ['study']);
      await wholeReadFindsNothingToChange(msg);
    });

    it('a trimmed message that names the series of its left-out changes: those series are read too', async () => {
      held.push(stored('B', 3), stored('C', 3));
      const msg = message([change('B', 3, 21)], { omittedChanges: 1, omittedSeries: [series('C')] });
      const { reads: made, result } = await sync(msg, 1);
      assert.deepEqual(made, [`series ${series('B')}`, `series ${series('C')}`]);
      assert.equal(result.instances, 8);
      await wholeReadFindsNothingToChange(msg);
    });

    it('an instance listed as current that its series does not return: the whole study is read', async () => {
      held.push(stored('B', 3), stored('C', 3));
      // The row names series C; the instance is in B. C3, in C, is the winner the message names.
      const msg = message([{ ...change('B', 3, 20), series: series('C') }, change('C', 3, 21)]);
      const { reads: made } = await sync(msg, 1);
      assert.deepEqual(made, [`series ${series('C')}`, 'study']);
      assert.ok((await imagingStudy())?.series?.some((one) => one.instance?.some((i) => i.uid === sopOf('B', 3))));
      await wholeReadFindsNothingToChange(msg);
    });

    it('a winner the message does not name (its instance rejected): the whole study is read', async () => {
      // A's new instance has no Modality: rejected; A's others carry no sequence, nor does C2, the study's winner.
      held.push(stored('A', 3, { [Tag.Modality]: null }));
      const msg = message([change('A', 3, 30)]);
      const { reads: made } = await sync(msg, 1);
      assert.deepEqual(made, [`series ${series('A')}`, 'study']);
      assert.equal((await imagingStudy())?.description, 'from C2');
      await wholeReadFindsNothingToChange(msg);
    });

    it('a winner with another time zone offset than the kept series were written with: the whole study is read', async () => {
      held.push(stored('A', 3, { [Tag.TimezoneOffsetFromUTC]: attr('SH', '-0500') }));
      const msg = message([change('A', 3, 30)]);
      const { reads: made } = await sync(msg, 1);
      assert.deepEqual(made, [`series ${series('A')}`, 'study']);
      const started = ((await imagingStudy())?.series ?? []).map((one) => one.started);
      assert.deepEqual(started, Array(3).fill('2024-01-15T10:20:00-05:00'));
      await wholeReadFindsNothingToChange(msg);
    });

    it('an instance the message names that FHIR holds under a series the message does not name: the whole study is read', async () => {
      held = held.filter((dataset) => dataset[Tag.SOPInstanceUID]?.Value?.[0] !== sopOf('B', 2));
      held.push(stored('C', 3));
      // B2's delete row names series C (where a new instance also is): B2 is held in B, which would be kept.
      const gone: InstanceChange = { ...change('B', 2, 40), series: series('C'), action: 'delete', state: 'deleted' };
      const msg = message([gone, change('C', 3, 41)]);
      const { reads: made } = await sync(msg, 1);
      assert.deepEqual(made, ['study']);
      await wholeReadFindsNothingToChange(msg);
    });

    it('an instance read that FHIR holds under a series kept: the whole study is read', async () => {
      // B1 now says it is in series C (a UID reused): a whole read moves it; keeping B as held would hold it twice.
      held = held.map((dataset) =>
        dataset[Tag.SOPInstanceUID]?.Value?.[0] === sopOf('B', 1)
          ? { ...dataset, [Tag.SeriesInstanceUID]: attr('UI', series('C')) }
          : dataset,
      );
      held.push(stored('C', 3));
      const msg = message([change('C', 3, 40)]);
      const { reads: made } = await sync(msg, 1);
      assert.deepEqual(made, [`series ${series('C')}`, 'study']);
      await wholeReadFindsNothingToChange(msg);
    });

    it('a series deleted whole: that series read (gone), the others kept', async () => {
      held = held.filter((dataset) => seriesOf(dataset) !== series('C'));
      const deleted = (n: number, sequence: number): InstanceChange => ({
        ...change('C', n, sequence),
        action: 'delete',
        state: 'deleted',
      });
      const msg = message([deleted(1, 40), deleted(2, 41)]);
      const { reads: made, result } = await sync(msg, 1);
      // The winner is no instance the message names (they are gone): the whole study is read.
      assert.deepEqual(made, [`series ${series('C')}`, 'study']);
      assert.equal(result.instances, 4);
      await wholeReadFindsNothingToChange(msg);
    });
  });
}
