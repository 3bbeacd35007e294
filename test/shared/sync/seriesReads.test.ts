import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import type { StudyReader } from '../../../shared/dicomweb/studyReader.js';
import { ownSource } from '../../../shared/mapping/ownership.js';
import type { InstanceChange, StudyMessage } from '../../../shared/queue/studyMessage.js';
import { seriesReadIsExact, seriesToRead } from '../../../shared/sync/seriesReads.js';
import { readStudyIntake } from '../../../shared/sync/studyIntake.js';
import { C, ctDoseContent, srDataset } from '../../support/doseReports.js';
import { attr, ctImage, instance, options as mapping, pn, studyUid } from '../../support/mappingFixtures.js';
import { studyReaderOver } from '../../support/studyReaders.js';

/**
 * The two pure decisions of a series read, each check on its own: the base case reads (or keeps) only the changed
 * series, and each case changes one thing so that only the check under test decides for the whole study.
 * (syncStudySeriesReads.test.ts shows end to end that what they allow writes what a whole-study read writes.)
 */
const series = (letter: 'A' | 'B' | 'C' | 'D') => `1.2.3.${{ A: 1, B: 2, C: 3, D: 4 }[letter]}`;
const sopOf = (letter: 'A' | 'B' | 'C', n: number) => `${series(letter)}.${n}`;
const srClass = '1.2.840.10008.5.1.4.1.1.88.67';

const heldSeries = (letter: 'A' | 'B' | 'C', started = '2024-01-15T10:20:00+01:00', sopClass = ctImage) => ({
  uid: series(letter),
  modality: { code: 'CT' },
  started,
  instance: [1, 2].map((n) => ({ uid: sopOf(letter, n), sopClass: { code: `urn:oid:${sopClass}` } })),
});
/** Our ImagingStudy as FHIR holds it: series A, B and C, two instances each. */
const held = (extra: Partial<ImagingStudy> = {}, seriesHeld?: ImagingStudySeries[]): ImagingStudy => ({
  resourceType: 'ImagingStudy',
  id: 'study-1',
  meta: { versionId: '3', source: mapping.endpoint },
  status: 'available',
  subject: { reference: 'Patient/p1' },
  series: seriesHeld ?? [heldSeries('A'), heldSeries('B'), heldSeries('C')],
  ...extra,
});
const without = (study: ImagingStudy, key: 'meta' | 'series'): ImagingStudy => {
  const copy = { ...study };
  delete copy[key];
  return copy;
};
const change = (
  letter: 'A' | 'B' | 'C',
  n: number,
  sequence: number,
  extra: Partial<InstanceChange> = {},
): InstanceChange => ({
  series: series(letter),
  sop: sopOf(letter, n),
  action: 'create',
  sequence,
  state: 'current',
  ...extra,
});
const message = (changes: InstanceChange[], extra: Partial<StudyMessage> = {}): StudyMessage => ({
  study: studyUid,
  maxSequence: Math.max(0, ...changes.map((c) => c.sequence)),
  changes,
  ...extra,
});

describe('seriesToRead', () => {
  const newInB = message([change('B', 3, 20)]);

  it('a change to one series of a study we hold, versioned and large enough: that series', () => {
    assert.deepEqual(seriesToRead(newInB, held(), mapping, 6), [series('B')]);
  });

  it('nothing held, or held without a version: the whole study', () => {
    assert.equal(seriesToRead(newInB, undefined, mapping, 1), undefined);
    assert.equal(seriesToRead(newInB, held({ meta: { source: mapping.endpoint } }), mapping, 1), undefined);
    assert.equal(seriesToRead(newInB, without(held(), 'meta'), mapping, 1), undefined);
  });

  it('a message of no changes, even one naming the series of its left-out changes: the whole study', () => {
    const trimmedToNothing = message([], { omittedChanges: 1, omittedSeries: [series('B')] });
    assert.equal(seriesToRead(trimmedToNothing, held(), mapping, 1), undefined);
  });

  it('a trimmed message: the series of its left-out changes too, or the whole study when it does not name them', () => {
    const named = message([change('B', 3, 20)], { omittedChanges: 2, omittedSeries: [series('C')] });
    assert.deepEqual(seriesToRead(named, held(), mapping, 1), [series('B'), series('C')]);
    const unnamed = message([change('B', 3, 20)], { omittedChanges: 2 });
    assert.equal(seriesToRead(unnamed, held(), mapping, 1), undefined);
  });

  it('with dose Observations on: the series while FHIR holds no SR of the study, else the whole study', () => {
    const observations = { ...mapping, generateObservations: true };
    assert.deepEqual(seriesToRead(newInB, held(), observations, 1), [series('B')]);
    const withSr = held({}, [heldSeries('A'), heldSeries('B'), heldSeries('C', undefined, srClass)]);
    assert.equal(seriesToRead(newInB, withSr, observations, 1), undefined);
    // Without Observations an SR held changes nothing.
    assert.deepEqual(seriesToRead(newInB, withSr, mapping, 1), [series('B')]);
  });

  it('another writer’s ImagingStudy (another server or partition): the whole study', () => {
    const others = held({ meta: { versionId: '3', source: 'https://other.example.com' } });
    assert.equal(seriesToRead(newInB, others, mapping, 1), undefined);
    const inPartition = { ...newInB, partition: 'p1' };
    assert.equal(seriesToRead(inPartition, held(), mapping, 1), undefined);
    const ours = held({ meta: { versionId: '3', source: ownSource(mapping.endpoint, 'p1') } });
    assert.deepEqual(seriesToRead(inPartition, ours, mapping, 1), [series('B')]);
  });

  it('fewer instances held than fromInstances: the whole study (series without instances count none)', () => {
    const withEmpty = held({}, [heldSeries('A'), heldSeries('B'), heldSeries('C'), { uid: series('D'), modality: {} }]);
    assert.deepEqual(seriesToRead(newInB, withEmpty, mapping, 6), [series('B')]);
    assert.equal(seriesToRead(newInB, withEmpty, mapping, 7), undefined);
    assert.equal(seriesToRead(newInB, without(held(), 'series'), mapping, 0), undefined);
  });

  it('every series held named (by the changes or as left out): the whole study', () => {
    const all = message([change('A', 3, 20), change('B', 3, 21), change('C', 3, 22)]);
    assert.equal(seriesToRead(all, held(), mapping, 1), undefined);
    const rest = message([change('B', 3, 20)], { omittedChanges: 2, omittedSeries: [series('A'), series('C')] });
    assert.equal(seriesToRead(rest, held(), mapping, 1), undefined);
  });

  it('an instance the message names held under a series it does not name: the whole study', () => {
    const misplaced = message([change('B', 1, 20, { series: series('C') })]);
    assert.equal(seriesToRead(misplaced, held(), mapping, 1), undefined);
    // Where the message places it, it is no doubt.
    const inPlace = message([change('B', 1, 20, { action: 'update' })]);
    assert.deepEqual(seriesToRead(inPlace, held(), mapping, 1), [series('B')]);
  });
});

describe('seriesReadIsExact', () => {
  const stored = (letter: 'A' | 'B' | 'C', n: number, extra: Parameters<typeof instance>[2] = {}) =>
    instance(series(letter), sopOf(letter, n), {
      [Tag.PatientName]: pn(`Name^${letter}${n}`),
      [Tag.TimezoneOffsetFromUTC]: attr('SH', '+0100'),
      ...extra,
    });
  const seriesOfDataset = (dataset: DicomJsonDataset) => dataset[Tag.SeriesInstanceUID]?.Value?.[0];
  /** The DICOM server's study: A, B, C as held, and B3, new. */
  const dicom = () => [
    stored('A', 1),
    stored('A', 2),
    stored('B', 1),
    stored('B', 2),
    stored('B', 3),
    stored('C', 1),
    stored('C', 2),
  ];
  const readerOf = (datasets: DicomJsonDataset[]): StudyReader =>
    studyReaderOver(() => Promise.resolve(structuredClone(datasets)));
  const sequencesOf = (msg: StudyMessage) => new Map(msg.changes.map((c) => [c.sop, c.sequence]));
  const exact = async (
    msg: StudyMessage,
    options: {
      datasets?: DicomJsonDataset[];
      existing?: ImagingStudy;
      settings?: typeof mapping;
      whole?: boolean;
    } = {},
  ) => {
    const settings = options.settings ?? mapping;
    const intake = await readStudyIntake(
      readerOf(options.datasets ?? dicom()),
      {
        study: studyUid,
        sequences: sequencesOf(msg),
        ...(options.whole ? {} : { series: seriesToRead(msg, options.existing ?? held(), settings, 1) ?? [] }),
      },
      settings,
    );
    return seriesReadIsExact(intake, msg, options.existing ?? held(), settings);
  };
  const newInB = message([change('B', 3, 20)]);

  it('the named instance returned and the winner, the kept series written with its offset: exact', async () => {
    assert.equal(await exact(newInB), true);
  });

  it('a whole-study read is no series read', async () => {
    assert.equal(await exact(newInB, { whole: true }), false);
  });

  it('an instance the feed lists as current not returned: not exact; one it lists as deleted or replaced: exact', async () => {
    assert.equal(await exact(message([change('B', 3, 20), change('B', 4, 19)])), false);
    assert.equal(await exact(message([change('B', 3, 20), change('B', 4, 19, { state: 'replaced' })])), true);
    const deleteRow = change('B', 4, 19, { action: 'delete' });
    assert.equal(await exact(message([change('B', 3, 20), deleteRow])), true);
  });

  it('with dose Observations on: exact while no dose SR is read, not once one is', async () => {
    const observations = { ...mapping, generateObservations: true };
    assert.equal(await exact(newInB, { settings: observations }), true);
    const report = srDataset({
      studyUid,
      seriesUid: series('B'),
      sopUid: sopOf('B', 9),
      patientId: 'PID-1',
      title: C.xRayDoseReport,
      content: ctDoseContent([{ uid: `${sopOf('B', 9)}.1`, ctdiVol: 5, dlp: 100 }], 100),
      extra: { [Tag.TimezoneOffsetFromUTC]: attr('SH', '+0100') },
    });
    const withReport = message([change('B', 3, 20), change('B', 9, 10)]);
    assert.equal(await exact(withReport, { datasets: [...dicom(), report], settings: observations }), false);
    assert.equal(await exact(withReport, { datasets: [...dicom(), report] }), true, 'Observations off');
  });

  it('a winner the message does not name, or no winner at all: not exact', async () => {
    // B3 is rejected (no Modality): B1 or B2, which carry no sequence, win.
    const rejected = [...dicom().filter((d) => d[Tag.SOPInstanceUID]?.Value?.[0] !== sopOf('B', 3))];
    rejected.push(stored('B', 3, { [Tag.Modality]: null }));
    assert.equal(await exact(newInB, { datasets: rejected }), false);
    // Every instance of the series read rejected: no winner.
    const none = dicom().map((d) => (seriesOfDataset(d) === series('B') ? { ...d, [Tag.Modality]: { vr: 'CS' } } : d));
    assert.equal(await exact(newInB, { datasets: none }), false);
  });

  it('kept series written with another offset than the winner’s: not exact; the series read, a date alone: exact', async () => {
    const other = (letter: 'A' | 'B' | 'C', started?: string): ImagingStudySeries => {
      const { started: _held, ...rest } = heldSeries(letter);
      return started === undefined ? rest : { ...rest, started };
    };
    const keptOther = held({}, [other('A', '2024-01-15T10:20:00-05:00'), heldSeries('B'), heldSeries('C')]);
    assert.equal(await exact(newInB, { existing: keptOther }), false);
    const readOther = held({}, [heldSeries('A'), other('B', '2024-01-15T10:20:00-05:00'), heldSeries('C')]);
    assert.equal(await exact(newInB, { existing: readOther }), true);
    const dateOnly = held({}, [other('A', '2024-01-15'), other('B'), heldSeries('C')]);
    assert.equal(await exact(newInB, { existing: dateOnly }), true);
  });

  it('a winner without an offset: the kept series must have been written with the default one', async () => {
    const noOffset = dicom().map((d) => {
      const { [Tag.TimezoneOffsetFromUTC]: _offset, ...rest } = d;
      return rest;
    });
    assert.equal(await exact(newInB, { datasets: noOffset }), false);
    const atDefault = held({}, [
      heldSeries('A', `2024-01-15T10:20:00${mapping.defaultTimezoneOffset}`),
      heldSeries('B'),
      heldSeries('C', `2024-01-15T10:20:00${mapping.defaultTimezoneOffset}`),
    ]);
    assert.equal(await exact(newInB, { datasets: noOffset, existing: atDefault }), true);
  });

  it('an instance read that FHIR holds under a series kept: not exact; kept series without instances: exact', async () => {
    const moved = dicom().map((d) =>
      d[Tag.SOPInstanceUID]?.Value?.[0] === sopOf('A', 1)
        ? { ...d, [Tag.SeriesInstanceUID]: attr('UI', series('B')) }
        : d,
    );
    assert.equal(await exact(newInB, { datasets: moved }), false);
    const emptyKept = held({}, [heldSeries('A'), heldSeries('B'), heldSeries('C'), { uid: series('D'), modality: {} }]);
    assert.equal(await exact(newInB, { existing: emptyKept }), true);
  });
});
