import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';
import { Tag, getString, type DicomJsonAttribute } from '../../../shared/dicomweb/dicomJson.js';
import {
  imagingStudyIdentifier,
  imagingStudySearchParams,
  toImagingStudy,
  type ImagingStudyInput,
} from '../../../shared/mapping/imagingStudy.js';
import type { MappingOptions, StudyInstance } from '../../../shared/mapping/types.js';
import {
  attr,
  codeItem,
  ctImage,
  current,
  emptyPaths,
  instance,
  options,
  pn,
  shuffle,
  studyUid,
} from '../../support/mappingFixtures.js';

const dcm = 'http://dicom.nema.org/resources/ontology/DCM';
const sct = 'http://snomed.info/sct';
const ctClass = { system: 'urn:ietf:rfc:3986', code: `urn:oid:${ctImage}` };
const acsnType = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] };

function map(instances: StudyInstance[], extra: Partial<ImagingStudyInput> = {}, settings: MappingOptions = options) {
  return toImagingStudy(
    { studyUid, instances, patientReference: 'Patient/p1', endpointReference: 'Endpoint/e1', ...extra },
    settings,
  );
}

/** The study made from one instance with these tags. */
function one(extra: Record<string, DicomJsonAttribute | null>, settings: MappingOptions = options) {
  const result = map([current(instance('1.2.3.1', '1.2.3.1.1', extra))], {}, settings);
  return { ...result, study: result.imagingStudy, series: result.imagingStudy?.series?.[0] };
}

describe('imagingStudyIdentifier / imagingStudySearchParams', () => {
  it('is urn:dicom:uid / urn:oid:<uid>', () => {
    assert.deepEqual(imagingStudyIdentifier('1.2.3'), { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' });
    assert.deepEqual(imagingStudySearchParams('1.2.3'), { identifier: 'urn:dicom:uid|urn:oid:1.2.3' });
  });
});

describe('toImagingStudy: one instance, every element', () => {
  it('maps all study, series and instance elements', () => {
    const { study, issues, rejectedInstances, studyAttributesFrom } = one({
      [Tag.StudyDate]: attr('DA', '20230415'),
      [Tag.StudyTime]: attr('TM', '143015.5'),
      [Tag.TimezoneOffsetFromUTC]: attr('SH', '+0200'),
      [Tag.StudyDescription]: attr('LO', 'CT chest'),
      [Tag.AccessionNumber]: attr('SH', 'ACC-1'),
      [Tag.ReferringPhysicianName]: pn('Smith^Anna^B^Dr'),
      [Tag.NameOfPhysiciansReadingStudy]: attr('PN', { Alphabetic: 'Reader^One' }, { Alphabetic: 'Reader^Two' }),
      [Tag.ProcedureCodeSequence]: attr('SQ', codeItem('P1', '99RAD', 'Chest CT', '1.2.3.4')),
      [Tag.ReasonForPerformedProcedureCodeSequence]: attr('SQ', codeItem('R06.0', 'I10', 'Dyspnea')),
      [Tag.SeriesNumber]: attr('IS', '3'),
      [Tag.SeriesDescription]: attr('LO', 'Axial'),
      [Tag.SeriesDate]: attr('DA', '20230415'),
      [Tag.SeriesTime]: attr('TM', '1431'),
      [Tag.BodyPartExamined]: attr('CS', 'CHEST'),
      [Tag.Laterality]: attr('CS', 'R'),
      [Tag.PerformingPhysicianName]: pn('Tech^Tom'),
      [Tag.InstanceNumber]: attr('IS', 7),
      [Tag.ConceptNameCodeSequence]: attr('SQ', codeItem('113701', 'DCM', 'X-Ray Radiation Dose Report')),
    });
    assert.deepEqual(study, {
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: 'Patient/p1' },
      meta: { source: 'https://dicom.example.com' },
      endpoint: [{ reference: 'Endpoint/e1' }],
      identifier: [
        { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' },
        { type: acsnType, value: 'ACC-1' },
      ],
      started: '2023-04-15T14:30:15.5+02:00',
      description: 'CT chest',
      referrer: { display: 'Anna B Smith' },
      interpreter: [{ display: 'One Reader' }, { display: 'Two Reader' }],
      procedureCode: [{ coding: [{ system: 'urn:oid:1.2.3.4', code: 'P1', display: 'Chest CT' }] }],
      reasonCode: [{ coding: [{ code: 'R06.0', display: 'Dyspnea' }] }],
      modality: [{ system: dcm, code: 'CT' }],
      numberOfSeries: 1,
      numberOfInstances: 1,
      series: [
        {
          uid: '1.2.3.1',
          modality: { system: dcm, code: 'CT' },
          number: 3,
          description: 'Axial',
          started: '2023-04-15T14:31:00+02:00',
          bodySite: { system: sct, code: '816094009', display: 'Chest' },
          laterality: { system: sct, code: '24028007', display: 'Right' },
          performer: [{ actor: { display: 'Tom Tech' } }],
          numberOfInstances: 1,
          instance: [{ uid: '1.2.3.1.1', sopClass: ctClass, number: 7, title: 'X-Ray Radiation Dose Report' }],
        },
      ],
    });
    assert.deepEqual(issues, []);
    assert.deepEqual(rejectedInstances, []);
    assert.equal(studyAttributesFrom, '1.2.3.1.1');
  });

  it('writes only what is there (minimal instance)', () => {
    const { study } = one({});
    assert.deepEqual(study, {
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: 'Patient/p1' },
      meta: { source: 'https://dicom.example.com' },
      endpoint: [{ reference: 'Endpoint/e1' }],
      identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' }],
      modality: [{ system: dcm, code: 'CT' }],
      numberOfSeries: 1,
      numberOfInstances: 1,
      series: [
        {
          uid: '1.2.3.1',
          modality: { system: dcm, code: 'CT' },
          numberOfInstances: 1,
          instance: [{ uid: '1.2.3.1.1', sopClass: ctClass }],
        },
      ],
    });
  });
});

describe('toImagingStudy: started (dates, times, offsets)', () => {
  type Row = [string, Record<string, DicomJsonAttribute | null>, string | undefined, string[]];
  const date = (value: string) => ({ [Tag.StudyDate]: attr('DA', value) });
  const time = (value: string) => ({ [Tag.StudyTime]: attr('TM', value) });
  const offset = (value: string | number) => ({ [Tag.TimezoneOffsetFromUTC]: attr('SH', value) });
  const rows: Row[] = [
    [
      'date, time HHMMSS and offset',
      { ...date('20230415'), ...time('143015'), ...offset('+0200') },
      '2023-04-15T14:30:15+02:00',
      [],
    ],
    ['time HH', { ...date('20230415'), ...time('14') }, '2023-04-15T14:00:00+00:00', []],
    ['time HHMM', { ...date('20230415'), ...time('1430') }, '2023-04-15T14:30:00+00:00', []],
    ['time HHMMSS.FFFFFF', { ...date('20230415'), ...time('143015.123456') }, '2023-04-15T14:30:15.123456+00:00', []],
    ['time HH:MM:SS', { ...date('20230415'), ...time('14:30:15') }, '2023-04-15T14:30:15+00:00', []],
    ['date YYYY.MM.DD', { ...date('2023.04.15'), ...time('1430') }, '2023-04-15T14:30:00+00:00', []],
    ['offset +1400', { ...date('20230415'), ...time('14'), ...offset('+1400') }, '2023-04-15T14:00:00+14:00', []],
    ['offset -0800', { ...date('20230415'), ...time('14'), ...offset('-0800') }, '2023-04-15T14:00:00-08:00', []],
    ['offset +0830', { ...date('20230415'), ...time('14'), ...offset('+0830') }, '2023-04-15T14:00:00+08:30', []],
    [
      'invalid offset 0 → warning, default',
      { ...date('20230415'), ...time('14'), ...offset('0') },
      '2023-04-15T14:00:00+00:00',
      ['(0008,0201)'],
    ],
    [
      'offset as a JSON number → warning',
      { ...date('20230415'), ...time('14'), ...offset(200) },
      '2023-04-15T14:00:00+00:00',
      ['(0008,0201)'],
    ],
    ['date only', date('20230415'), '2023-04-15', []],
    ['date only, offset ignored', { ...date('20230415'), ...offset('+0200') }, '2023-04-15', []],
    ['no date', { ...time('1430'), ...offset('+0200') }, undefined, []],
    ['invalid date → warning, omitted', { ...date('20231345'), ...time('1430') }, undefined, ['(0008,0020)']],
    ['invalid time → warning, date alone', { ...date('20230415'), ...time('2561') }, '2023-04-15', ['(0008,0030)']],
    ['empty values are absent', { [Tag.StudyDate]: attr('DA'), [Tag.StudyTime]: attr('TM', '') }, undefined, []],
  ];
  for (const [name, tags, started, warned] of rows) {
    it(name, () => {
      const { study, issues } = one(tags);
      assert.equal(study?.started, started);
      assert.deepEqual(
        issues.map((issue) => issue.tag),
        warned,
      );
      assert.ok(issues.every((issue) => issue.severity === 'warning'));
    });
  }

  it('uses DicomCast:DefaultTimezoneOffset when the offset is absent', () => {
    const { study } = one(
      { [Tag.StudyDate]: attr('DA', '20230415'), [Tag.StudyTime]: attr('TM', '0930') },
      {
        ...options,
        defaultTimezoneOffset: '-05:00',
      },
    );
    assert.equal(study?.started, '2023-04-15T09:30:00-05:00');
  });

  it('series.started uses the study offset', () => {
    const { series } = one({
      [Tag.SeriesDate]: attr('DA', '20230416'),
      [Tag.SeriesTime]: attr('TM', '08'),
      [Tag.TimezoneOffsetFromUTC]: attr('SH', '-0330'),
    });
    assert.equal(series?.started, '2023-04-16T08:00:00-03:30');
  });

  it('describes a warning fully', () => {
    const { issues } = one({ [Tag.TimezoneOffsetFromUTC]: attr('SH', '0') });
    assert.deepEqual(issues, [
      {
        severity: 'warning',
        study: '1.2.3',
        series: '1.2.3.1',
        instance: '1.2.3.1.1',
        tag: '(0008,0201)',
        keyword: 'TimezoneOffsetFromUTC',
        value: '0',
        reason: 'not a valid offset (+HHMM or -HHMM)',
      },
    ]);
  });
});

describe('toImagingStudy: numbers', () => {
  const rows: [DicomJsonAttribute | null, number | undefined, number][] = [
    [attr('IS', '5'), 5, 0],
    [attr('IS', ' 5 '), 5, 0],
    [attr('IS', 5), 5, 0],
    [attr('IS', 0), 0, 0],
    [attr('IS', '-1'), undefined, 1],
    [attr('IS', -1), undefined, 1],
    [attr('IS', 'abc'), undefined, 1],
    [attr('IS', '2.5'), undefined, 1],
    [attr('IS'), undefined, 0],
    [null, undefined, 0],
  ];
  for (const [value, expected, warnings] of rows) {
    it(`SeriesNumber ${JSON.stringify(value?.Value)} → ${expected}`, () => {
      const { series, issues } = one({ [Tag.SeriesNumber]: value });
      assert.equal(series?.number, expected);
      assert.equal(issues.length, warnings);
      if (warnings) assert.equal(issues[0]?.keyword, 'SeriesNumber');
    });
    it(`InstanceNumber ${JSON.stringify(value?.Value)} → ${expected}`, () => {
      const { series, issues } = one({ [Tag.InstanceNumber]: value });
      assert.equal(series?.instance?.[0]?.number, expected);
      assert.equal(issues.length, warnings);
    });
  }
});

describe('toImagingStudy: series elements', () => {
  it('Modality: the first of several values', () => {
    assert.deepEqual(one({ [Tag.Modality]: attr('CS', 'MR', 'CT') }).series?.modality, { system: dcm, code: 'MR' });
    assert.deepEqual(one({ [Tag.Modality]: attr('CS', 'MR\\CT') }).series?.modality, { system: dcm, code: 'MR' });
  });

  const bodySites: [string, unknown][] = [
    ['ABDOMEN', { system: sct, code: '818981001', display: 'Abdomen' }],
    ['FETALHEART', { display: 'FETALHEART' }],
    ['NOT A TERM', { display: 'NOT A TERM' }],
  ];
  for (const [value, expected] of bodySites) {
    it(`bodySite ${value}`, () => {
      assert.deepEqual(one({ [Tag.BodyPartExamined]: attr('CS', value) }).series?.bodySite, expected);
    });
  }

  const lateralities: [string, Record<string, DicomJsonAttribute>, string | undefined, number][] = [
    ['Laterality R', { [Tag.Laterality]: attr('CS', 'R') }, '24028007', 0],
    ['Laterality L', { [Tag.Laterality]: attr('CS', 'L') }, '7771000', 0],
    ['Laterality B', { [Tag.Laterality]: attr('CS', 'B') }, '51440002', 0],
    ['Laterality U → omitted', { [Tag.Laterality]: attr('CS', 'U') }, undefined, 0],
    ['Laterality invalid → warning', { [Tag.Laterality]: attr('CS', 'Q') }, undefined, 1],
    ['ImageLaterality when Laterality is absent', { [Tag.ImageLaterality]: attr('CS', 'L') }, '7771000', 0],
    [
      'ImageLaterality when Laterality is empty',
      { [Tag.Laterality]: attr('CS'), [Tag.ImageLaterality]: attr('CS', 'B') },
      '51440002',
      0,
    ],
    [
      'Laterality before ImageLaterality',
      { [Tag.Laterality]: attr('CS', 'R'), [Tag.ImageLaterality]: attr('CS', 'L') },
      '24028007',
      0,
    ],
  ];
  for (const [name, tags, code, warnings] of lateralities) {
    it(name, () => {
      const { series, issues } = one(tags);
      assert.equal(series?.laterality?.code, code);
      assert.equal(issues.length, warnings);
    });
  }

  it('performer per PerformingPhysicianName value, empty names skipped', () => {
    const { series } = one({
      [Tag.PerformingPhysicianName]: attr('PN', { Alphabetic: 'A^B' }, { Alphabetic: '^' }, { Ideographic: '山田' }),
    });
    assert.deepEqual(series?.performer, [{ actor: { display: 'B A' } }, { actor: { display: '山田' } }]);
  });

  it('instance title from DocumentTitle when there is no concept name', () => {
    assert.equal(one({ [Tag.DocumentTitle]: attr('ST', 'Report') }).series?.instance?.[0]?.title, 'Report');
    assert.equal(
      one({
        [Tag.DocumentTitle]: attr('ST', 'Report'),
        [Tag.ConceptNameCodeSequence]: attr('SQ', codeItem('1', 'DCM', 'Concept')),
      }).series?.instance?.[0]?.title,
      'Concept',
    );
  });

  it('drops the NUL padding of UIDs', () => {
    const { series } = one({ [Tag.SOPClassUID]: attr('UI', `${ctImage}\0`) });
    assert.deepEqual(series?.instance?.[0]?.sopClass, ctClass);
  });

  it('accepts lower-case tag keys', () => {
    const { study } = one({ '00081030': null, '0008103e': attr('LO', 'lower') });
    assert.equal(study?.series?.[0]?.description, 'lower');
  });
});

describe('toImagingStudy: rejected instances', () => {
  const good = current(instance('1.2.3.1', '1.2.3.1.1'));
  const rows: [string, Record<string, DicomJsonAttribute | null>, string][] = [
    ['SOPClassUID missing', { [Tag.SOPClassUID]: null }, '(0008,0016)'],
    ['Modality missing', { [Tag.Modality]: null }, '(0008,0060)'],
    ['Modality empty', { [Tag.Modality]: attr('CS') }, '(0008,0060)'],
    ['SeriesInstanceUID missing', { [Tag.SeriesInstanceUID]: null }, '(0020,000E)'],
    ['SOPInstanceUID missing', { [Tag.SOPInstanceUID]: null }, '(0008,0018)'],
    ['SOPInstanceUID not a UID', { [Tag.SOPInstanceUID]: attr('UI', 'abc') }, '(0008,0018)'],
    ['another study', { [Tag.StudyInstanceUID]: attr('UI', '9.9.9') }, '(0020,000D)'],
  ];
  for (const [name, tags, tag] of rows) {
    it(`${name}: that instance only is rejected`, () => {
      const bad = current(instance('1.2.3.1', '1.2.3.1.2', tags));
      const { imagingStudy, rejectedInstances, issues } = map([good, bad]);
      assert.equal(rejectedInstances.length, 1);
      assert.ok(rejectedInstances[0]?.issues.some((issue) => issue.tag === tag && issue.severity === 'error'));
      assert.deepEqual(
        imagingStudy?.series?.flatMap((series) => series.instance?.map((item) => item.uid)),
        ['1.2.3.1.1'],
      );
      assert.deepEqual(issues, []);
    });
  }

  it('names the rejected instance and series', () => {
    const { rejectedInstances } = map([current(instance('1.2.3.1', '1.2.3.1.2', { [Tag.Modality]: null }))]);
    assert.deepEqual(rejectedInstances, [
      {
        sop: '1.2.3.1.2',
        series: '1.2.3.1',
        issues: [
          {
            severity: 'error',
            study: '1.2.3',
            series: '1.2.3.1',
            instance: '1.2.3.1.2',
            tag: '(0008,0060)',
            keyword: 'Modality',
            reason: 'required tag is missing or empty',
          },
        ],
      },
    ]);
  });

  it('an invalid optional tag is a warning, or rejects the instance when validation is enforced', () => {
    const tags = { [Tag.SeriesNumber]: attr('IS', '-3') };
    const lenient = one(tags);
    assert.equal(lenient.issues[0]?.severity, 'warning');
    assert.equal(lenient.series?.number, undefined);
    assert.equal(lenient.study?.numberOfInstances, 1);

    const strict = one(tags, { ...options, enforceValidation: true });
    assert.equal(strict.study, undefined);
    assert.deepEqual(strict.issues, []);
    assert.equal(strict.rejectedInstances[0]?.issues[0]?.severity, 'error');
    assert.equal(strict.rejectedInstances[0]?.issues[0]?.keyword, 'SeriesNumber');
  });

  it('keeps the existing entry of a rejected instance untouched', () => {
    const existing: ImagingStudy = {
      resourceType: 'ImagingStudy',
      id: 's1',
      status: 'available',
      subject: { reference: 'Patient/p1' },
      meta: { source: options.endpoint },
      series: [
        {
          uid: '1.2.3.1',
          modality: { system: dcm, code: 'CT' },
          instance: [{ uid: '1.2.3.1.2', sopClass: { code: ctImage }, number: 9 }],
        },
      ],
    };
    const bad = current(instance('1.2.3.1', '1.2.3.1.2', { [Tag.SOPClassUID]: null }));
    const { imagingStudy } = map([good, bad], { existing });
    assert.deepEqual(imagingStudy?.series?.[0]?.instance, [
      { uid: '1.2.3.1.2', sopClass: { code: ctImage }, number: 9 },
      { uid: '1.2.3.1.1', sopClass: ctClass },
    ]);
  });
});

describe('toImagingStudy: which instance wins, and order independence', () => {
  const study = (description: string, sop: string, series: string, extra: Record<string, DicomJsonAttribute> = {}) =>
    instance(series, sop, {
      [Tag.StudyDescription]: attr('LO', description),
      [Tag.SeriesDescription]: attr('LO', `series by ${sop}`),
      [Tag.AccessionNumber]: attr('SH', `ACC-${sop}`),
      ...extra,
    });

  it('study attributes come from the highest sequence', () => {
    const result = map([
      current(study('old', '1.2.3.1.9', '1.2.3.1'), 10),
      current(study('new', '1.2.3.2.1', '1.2.3.2'), 20),
      current(study('unknown', '1.2.3.2.9', '1.2.3.2')),
    ]);
    assert.equal(result.imagingStudy?.description, 'new');
    assert.equal(result.studyAttributesFrom, '1.2.3.2.1');
    assert.deepEqual(result.imagingStudy?.identifier?.[1], { type: acsnType, value: 'ACC-1.2.3.2.1' });
    assert.equal(result.imagingStudy?.series?.[1]?.description, 'series by 1.2.3.2.1');
  });

  it('ties and unknown sequences go to the highest SOP Instance UID (string order)', () => {
    const result = map([
      current(study('a', '1.2.3.1.10', '1.2.3.1'), 5),
      current(study('b', '1.2.3.1.9', '1.2.3.1'), 5),
    ]);
    assert.equal(result.imagingStudy?.description, 'b');
    assert.equal(
      map([current(study('a', '1.2.3.1.1', '1.2.3.1')), current(study('b', '1.2.3.1.2', '1.2.3.1'))]).imagingStudy
        ?.description,
      'b',
    );
  });

  it('warns only about values in use: a losing instance’s bad StudyDate is not reported', () => {
    const result = map([
      current(study('old', '1.2.3.1.1', '1.2.3.1', { [Tag.StudyDate]: attr('DA', 'bad') }), 1),
      current(study('new', '1.2.3.1.2', '1.2.3.1', { [Tag.StudyDate]: attr('DA', '20230101') }), 2),
    ]);
    assert.deepEqual(result.issues, []);
    assert.equal(result.imagingStudy?.started, '2023-01-01');
  });

  it('appends new series by SeriesNumber then UID, instances by InstanceNumber then UID', () => {
    const inst = (series: string, seriesNumber: number | undefined, sop: string, number?: number) =>
      current(
        instance(series, sop, {
          ...(seriesNumber === undefined ? {} : { [Tag.SeriesNumber]: attr('IS', seriesNumber) }),
          ...(number === undefined ? {} : { [Tag.InstanceNumber]: attr('IS', number) }),
        }),
      );
    const { imagingStudy } = map([
      inst('1.2.3.9', undefined, '1.2.3.9.1'),
      inst('1.2.3.5', 2, '1.2.3.5.2', 10),
      inst('1.2.3.5', 2, '1.2.3.5.1', 2),
      inst('1.2.3.5', 2, '1.2.3.5.3'),
      inst('1.2.3.4', 2, '1.2.3.4.1'),
      inst('1.2.3.7', 1, '1.2.3.7.1'),
      inst('1.2.3.8', undefined, '1.2.3.8.1'),
    ]);
    assert.deepEqual(
      imagingStudy?.series?.map((series) => series.uid),
      ['1.2.3.7', '1.2.3.4', '1.2.3.5', '1.2.3.8', '1.2.3.9'],
    );
    assert.deepEqual(
      imagingStudy?.series?.[2]?.instance?.map((item) => item.uid),
      ['1.2.3.5.1', '1.2.3.5.2', '1.2.3.5.3'],
    );
  });

  it('gives the same result whatever the input order', () => {
    const instances: StudyInstance[] = [];
    const modalities = ['MR', 'CT', 'SR'];
    for (let s = 1; s <= 3; s++) {
      for (let i = 1; i <= 4; i++) {
        const sop = `1.2.3.${s}.${i}`;
        instances.push(
          current(
            study(`d${s}${i}`, sop, `1.2.3.${s}`, {
              [Tag.Modality]: attr('CS', modalities[(s + i) % 3] ?? 'OT'),
              [Tag.SeriesNumber]: attr('IS', String(4 - s)),
              [Tag.InstanceNumber]: attr('IS', (i * 7) % 5),
              [Tag.StudyTime]: attr('TM', i % 2 ? 'bad' : '1200'),
              [Tag.StudyDate]: attr('DA', '20230101'),
            }),
            i % 3 === 0 ? undefined : (i * s) % 4,
          ),
        );
      }
    }
    // the same SOP listed twice with the same sequence: settled by content, not by position
    instances.push(current(study('dup', '1.2.3.1.1', '1.2.3.1'), (1 * 1) % 4));
    const expected = map(instances);
    assert.ok(expected.imagingStudy);
    for (let seed = 1; seed <= 20; seed++) {
      assert.deepEqual(map(shuffle(instances, seed)), expected, `seed ${seed}`);
    }
  });
});

describe('toImagingStudy: existing resource', () => {
  const existing: ImagingStudy = {
    resourceType: 'ImagingStudy',
    id: 'study-1',
    meta: { versionId: '4', lastUpdated: '2020-01-01T00:00:00Z', source: options.endpoint },
    identifier: [
      { system: 'urn:other', value: 'X' },
      { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' },
      { type: acsnType, value: 'OLD-ACC' },
    ],
    status: 'registered',
    subject: { reference: 'Patient/old' },
    basedOn: [{ reference: 'ServiceRequest/sr1' }],
    endpoint: [{ reference: 'Endpoint/other' }, { reference: 'Endpoint/e1' }],
    note: [{ text: 'CT chest' }, { text: 'written by DICOM Cast' }],
    description: 'old description',
    modality: [{ system: 'DCM', code: 'US' }],
    numberOfSeries: 7,
    series: [
      {
        uid: '1.2.3.2',
        modality: { system: 'DCM', code: 'MR' },
        number: 2,
        endpoint: [{ reference: 'Endpoint/series' }],
        instance: [
          { uid: '1.2.3.2.2', sopClass: { code: ctImage }, number: 2, title: 'old title' },
          {
            uid: '1.2.3.2.1',
            sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.9' },
            extension: [{ url: 'x', valueString: 'kept' }],
          },
          { uid: '1.2.3.2.3', sopClass: { code: ctImage } },
        ],
      },
      {
        uid: '1.2.3.1',
        modality: { system: 'DCM', code: 'CT' },
        instance: [{ uid: '1.2.3.1.1', sopClass: { code: ctImage } }],
      },
      {
        uid: '1.2.3.3',
        modality: { system: 'DCM', code: 'US' },
        instance: [{ uid: '1.2.3.3.1', sopClass: { code: ctImage } }],
      },
    ],
  };
  const currentInstances = [
    current(
      instance('1.2.3.2', '1.2.3.2.1', {
        [Tag.Modality]: attr('CS', 'MR'),
        [Tag.StudyDescription]: attr('LO', 'new description'),
        [Tag.AccessionNumber]: attr('SH', 'ACC-9'),
      }),
      5, // stored last: its study attributes win over the higher SOP UIDs without a sequence
    ),
    current(instance('1.2.3.2', '1.2.3.2.2', { [Tag.Modality]: attr('CS', 'MR') })),
    current(instance('1.2.3.2', '1.2.3.2.0', { [Tag.Modality]: attr('CS', 'MR') })),
    current(instance('1.2.3.1', '1.2.3.1.1')),
    current(instance('1.2.3.4', '1.2.3.4.1', { [Tag.Modality]: attr('CS', 'SR') })),
  ];

  it('keeps what is not ours, updates what is, removes what is gone (owned)', () => {
    const { imagingStudy } = map(currentInstances, { existing });
    assert.deepEqual(imagingStudy, {
      resourceType: 'ImagingStudy',
      id: 'study-1',
      meta: { versionId: '4', lastUpdated: '2020-01-01T00:00:00Z', source: options.endpoint },
      identifier: [
        { system: 'urn:other', value: 'X' },
        { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' },
        { type: acsnType, value: 'ACC-9' },
      ],
      status: 'available',
      subject: { reference: 'Patient/p1' },
      basedOn: [{ reference: 'ServiceRequest/sr1' }],
      endpoint: [{ reference: 'Endpoint/other' }, { reference: 'Endpoint/e1' }],
      note: [{ text: 'CT chest' }, { text: 'written by DICOM Cast' }],
      description: 'new description',
      modality: [
        { system: dcm, code: 'MR' },
        { system: dcm, code: 'CT' },
        { system: dcm, code: 'SR' },
      ],
      numberOfSeries: 3,
      numberOfInstances: 5,
      series: [
        {
          uid: '1.2.3.2',
          modality: { system: dcm, code: 'MR' },
          endpoint: [{ reference: 'Endpoint/series' }],
          numberOfInstances: 3,
          instance: [
            { uid: '1.2.3.2.2', sopClass: ctClass },
            { uid: '1.2.3.2.1', sopClass: ctClass, extension: [{ url: 'x', valueString: 'kept' }] },
            { uid: '1.2.3.2.0', sopClass: ctClass },
          ],
        },
        {
          uid: '1.2.3.1',
          modality: { system: dcm, code: 'CT' },
          numberOfInstances: 1,
          instance: [{ uid: '1.2.3.1.1', sopClass: ctClass }],
        },
        {
          uid: '1.2.3.4',
          modality: { system: dcm, code: 'SR' },
          numberOfInstances: 1,
          instance: [{ uid: '1.2.3.4.1', sopClass: ctClass }],
        },
      ],
    });
  });

  it('does not change the object it was given', () => {
    const copy = structuredClone(existing);
    map(currentInstances, { existing });
    assert.deepEqual(existing, copy);
  });

  it('series not read are kept as the very objects FHIR holds; the rest are rebuilt', () => {
    const copy = structuredClone(existing);
    const readSeries = new Set(['1.2.3.2', '1.2.3.4']);
    const read = currentInstances.filter((one) => readSeries.has(getString(one.dataset, Tag.SeriesInstanceUID) ?? ''));
    const result = map(read, { existing, readSeries });
    const [rebuilt, keptCt, keptUs, added] = result.imagingStudy?.series ?? [];
    assert.equal(keptCt, existing.series?.[1], 'the CT series, not read: the object read from FHIR');
    assert.equal(keptUs, existing.series?.[2], 'the US series, not read');
    assert.notEqual(rebuilt, existing.series?.[0]);
    assert.deepEqual(
      rebuilt?.instance?.map((one) => one.uid),
      ['1.2.3.2.2', '1.2.3.2.1', '1.2.3.2.0'],
    );
    assert.equal(added?.uid, '1.2.3.4');
    assert.equal(result.imagingStudy?.numberOfInstances, 6);
    assert.deepEqual(existing, copy, 'the existing resource is not changed');
    const whole = map(read, { existing }).imagingStudy?.series ?? [];
    assert.ok(!whole.some((one) => existing.series?.includes(one)), 'a whole read keeps no series as held');
  });

  it('adds our endpoint when missing, and sets meta.source only when there is none', () => {
    const { imagingStudy } = map(currentInstances, {
      existing: { ...existing, meta: { versionId: '4' }, endpoint: [{ reference: 'Endpoint/other' }] },
    });
    assert.deepEqual(imagingStudy?.endpoint, [{ reference: 'Endpoint/other' }, { reference: 'Endpoint/e1' }]);
    assert.deepEqual(imagingStudy?.meta, { versionId: '4', source: options.endpoint });

    const foreign = map(currentInstances, { existing: { ...existing, meta: { source: 'https://other-pacs' } } });
    assert.equal(foreign.imagingStudy?.meta?.source, 'https://other-pacs');
  });

  it('does not list our endpoint again when the study names it with a version or a base URL', () => {
    for (const named of ['Endpoint/e1/_history/3', 'https://fhir.example/Endpoint/e1', 'Endpoint/e1']) {
      const { imagingStudy } = map(currentInstances, { existing: { ...existing, endpoint: [{ reference: named }] } });
      assert.deepEqual(imagingStudy?.endpoint, [{ reference: named }], named);
    }
    const { imagingStudy } = map(currentInstances, {
      existing: { ...existing, endpoint: [{ reference: 'Endpoint/e10' }] },
    });
    assert.deepEqual(imagingStudy?.endpoint, [{ reference: 'Endpoint/e10' }, { reference: 'Endpoint/e1' }]);
  });

  it('removes the accession identifier and study attributes that are gone', () => {
    const { imagingStudy } = map([current(instance('1.2.3.1', '1.2.3.1.1'))], { existing });
    assert.deepEqual(imagingStudy?.identifier, [
      { system: 'urn:other', value: 'X' },
      { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' },
    ]);
    assert.equal(imagingStudy?.description, undefined);
    assert.deepEqual(imagingStudy?.note, existing.note);
  });

  it('owned: deleting instances drops emptied series; nothing left gives undefined', () => {
    const { imagingStudy } = map([current(instance('1.2.3.1', '1.2.3.1.1'))], { existing });
    assert.deepEqual(
      imagingStudy?.series?.map((series) => series.uid),
      ['1.2.3.1'],
    );
    assert.equal(imagingStudy?.numberOfSeries, 1);
    assert.equal(imagingStudy?.numberOfInstances, 1);
    assert.deepEqual(imagingStudy?.modality, [{ system: dcm, code: 'CT' }]);

    const empty = map([], { existing });
    assert.equal(empty.imagingStudy, undefined);
    assert.equal(empty.studyAttributesFrom, undefined);
  });

  it('not owned: removes only the listed instances, keeps the rest untouched', () => {
    const { imagingStudy } = map([current(instance('1.2.3.1', '1.2.3.1.1'))], {
      existing,
      removeOnlyThese: new Set(['1.2.3.2.1', '1.2.3.2.2', '1.2.3.1.1']),
    });
    assert.deepEqual(imagingStudy?.series, [
      {
        uid: '1.2.3.2',
        modality: { system: 'DCM', code: 'MR' },
        number: 2,
        endpoint: [{ reference: 'Endpoint/series' }],
        numberOfInstances: 1,
        instance: [{ uid: '1.2.3.2.3', sopClass: { code: ctImage } }],
      },
      {
        uid: '1.2.3.1',
        modality: { system: dcm, code: 'CT' },
        numberOfInstances: 1,
        instance: [{ uid: '1.2.3.1.1', sopClass: ctClass }],
      },
      {
        uid: '1.2.3.3',
        modality: { system: 'DCM', code: 'US' },
        numberOfInstances: 1,
        instance: [{ uid: '1.2.3.3.1', sopClass: { code: ctImage } }],
      },
    ]);
    assert.deepEqual(imagingStudy?.modality, [
      { system: dcm, code: 'MR' },
      { system: dcm, code: 'CT' },
      { system: dcm, code: 'US' },
    ]);
  });

  it('an instance now in another series moves there', () => {
    const { imagingStudy } = map(
      [current(instance('1.2.3.1', '1.2.3.1.1')), current(instance('1.2.3.1', '1.2.3.2.3'))],
      { existing, removeOnlyThese: new Set() },
    );
    const uids = (series: ImagingStudySeries | undefined) => series?.instance?.map((item) => item.uid);
    assert.deepEqual(uids(imagingStudy?.series?.[0]), ['1.2.3.2.2', '1.2.3.2.1']);
    assert.deepEqual(uids(imagingStudy?.series?.[1]), ['1.2.3.1.1', '1.2.3.2.3']);
  });

  it('never writes empty strings, arrays or objects', () => {
    const withEmpties: ImagingStudy = structuredClone(existing);
    withEmpties.description = '';
    withEmpties.interpreter = [];
    const { imagingStudy } = map(
      [
        current(
          instance('1.2.3.2', '1.2.3.2.1', {
            [Tag.StudyDescription]: attr('LO', '   '),
            [Tag.ReferringPhysicianName]: pn('^^'),
            [Tag.NameOfPhysiciansReadingStudy]: attr('PN', { Alphabetic: '' }),
            [Tag.ProcedureCodeSequence]: attr('SQ', {}),
            [Tag.AccessionNumber]: attr('SH', ''),
            [Tag.PerformingPhysicianName]: attr('PN'),
            [Tag.DocumentTitle]: attr('ST', ' '),
            [Tag.BodyPartExamined]: attr('CS', ''),
          }),
        ),
      ],
      { existing: withEmpties },
    );
    assert.ok(imagingStudy);
    assert.deepEqual(emptyPaths(imagingStudy), []);
  });
});
