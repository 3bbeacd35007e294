/**
 * Hostile WADO-RS metadata, one crafted instance per case next to a good one, served by a loopback DICOM server to
 * the real writer (real study reader over HTTP, the local FHIR server). Every case asserts its exact outcome:
 * - rejected: one 'bad-dicom-data' failure naming the instance (when it has a usable UID), the tag and the reason;
 *   the good instance is in the ImagingStudy (the rest keeps syncing); nothing is thrown (nothing retried);
 * - normalised: no failure, both instances written, the value as it should be;
 * - warned: the instance is written, the bad optional value is skipped with a tag warning naming it;
 * - unreadable: the response itself is bad (bytes that are not UTF-8): the sync fails at once with one located
 *   'bad-dicom-data' error naming the request and the study (not retried), and nothing of the study is written.
 * Over 300 lines because most of it is the table of inputs, one per line (as Prettier lays them out).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { Tag } from '../../../shared/dicomweb/dicomJson.js';
import { createStudyReader, type StudyReader } from '../../../shared/dicomweb/studyReader.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';
import { createFhirClient } from '../../../shared/fhir/fhirClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import type { MappingOptions, TagIssue } from '../../../shared/mapping/types.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import type { Failure } from '../../../shared/errors/errors.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { tally } from './tally.js';
import { studyReaderOver } from '../../support/studyReaders.js';

type Attribute = unknown;
type Dataset = Record<string, Attribute>;

interface Written {
  study: ImagingStudy | undefined;
  patient: Patient | undefined;
  warnings: TagIssue[];
}

type Outcome =
  | { rejected: { tag: string; reason: RegExp; located?: boolean } }
  | { normalised: (written: Written) => void }
  | { warned: { keyword: string; reason: RegExp } }
  | { unreadable: RegExp };

interface MetadataCase {
  name: string;
  /** Attributes of the hostile instance to replace (undefined deletes one). */
  attributes?: Record<string, Attribute>;
  /** An instance that is not built from the base instance. */
  instance?: unknown;
  /** Bytes sent in place of the text `@@BYTES@@` of the hostile instance (bytes that are not UTF-8). */
  bytes?: Buffer;
  /** JSON text sent in place of the value `"@@RAW@@"` (nesting too deep for JSON.stringify to write). */
  rawJson?: string;
  expect: Outcome;
}

const attr = (vr: string, ...values: unknown[]) => (values.length ? { vr, Value: values } : { vr });
const options: MappingOptions = {
  endpoint: 'https://dicom.hostile.example',
  patientSystemId: '',
  isIssuerIdUsed: false,
  defaultTimezoneOffset: '+00:00',
  enforceValidation: false,
};

function instanceOf(study: string, series: string, sop: string, patientId: string): Dataset {
  return {
    [Tag.SOPClassUID]: attr('UI', '1.2.840.10008.5.1.4.1.1.2'),
    [Tag.SOPInstanceUID]: attr('UI', sop),
    [Tag.Modality]: attr('CS', 'CT'),
    [Tag.PatientName]: attr('PN', { Alphabetic: 'Doe^Jane' }),
    [Tag.PatientID]: attr('LO', patientId),
    [Tag.StudyInstanceUID]: attr('UI', study),
    [Tag.SeriesInstanceUID]: attr('UI', series),
  };
}

const nested = (depth: number): unknown => {
  let item: Dataset = { [Tag.CodeMeaning]: attr('LO', 'innermost') };
  for (let level = 0; level < depth; level++) item = { '0040A730': { vr: 'SQ', Value: [item] } };
  return item['0040A730'];
};
const code = (schemeUid: string) => ({
  [Tag.CodeValue]: attr('SH', 'P1'),
  [Tag.CodingSchemeDesignator]: attr('SH', 'LOCAL'),
  [Tag.CodeMeaning]: attr('LO', 'Procedure'),
  [Tag.CodingSchemeUID]: attr('UI', schemeUid),
});
const rejected = (tag: string, reason: RegExp, located = true): Outcome => ({ rejected: { tag, reason, located } });

const cases: MetadataCase[] = [
  {
    name: 'PatientID Value a string "12345" (was Patient "1")',
    attributes: { [Tag.PatientID]: { vr: 'LO', Value: '12345' } },
    expect: rejected('(0010,0020)', /"Value" is not an array/),
  },
  {
    name: 'Modality Value a string "MR" (was "M")',
    attributes: { [Tag.Modality]: { vr: 'CS', Value: 'MR' } },
    expect: rejected('(0008,0060)', /"Value" is not an array/),
  },
  {
    name: 'SOPInstanceUID Value a string',
    attributes: { [Tag.SOPInstanceUID]: { vr: 'UI', Value: '1.2.3' } },
    expect: rejected('(0008,0018)', /"Value" is not an array/, false),
  },
  {
    name: 'PatientID two values',
    attributes: { [Tag.PatientID]: attr('LO', 'A', 'B') },
    expect: rejected('(0010,0020)', /has 2 values/),
  },
  {
    name: 'PatientID "A\\B" (was Patient A)',
    attributes: { [Tag.PatientID]: attr('LO', 'A\\B') },
    expect: rejected('(0010,0020)', /more than one value/),
  },
  {
    name: 'PatientID with U+FFFD',
    attributes: { [Tag.PatientID]: attr('LO', 'PID\uFFFD') },
    expect: rejected('(0010,0020)', /not valid UTF-8/),
  },
  {
    name: 'PatientID invalid UTF-8 bytes on the wire',
    attributes: { [Tag.PatientID]: attr('LO', '@@BYTES@@') },
    bytes: Buffer.from([0x50, 0xff, 0xfe]),
    expect: { unreadable: /not valid UTF-8/ },
  },
  {
    name: 'PatientName invalid UTF-8 bytes on the wire (was U+FFFD in the name, silently)',
    attributes: { [Tag.PatientName]: attr('PN', { Alphabetic: 'M@@BYTES@@ller^Hans' }) },
    bytes: Buffer.from([0xfc]), // "ü" in Latin-1, not UTF-8
    expect: { unreadable: /not valid UTF-8/ },
  },
  {
    name: 'PatientName a UTF-8 sequence cut short on the wire',
    attributes: { [Tag.PatientName]: attr('PN', { Alphabetic: 'M@@BYTES@@ller^Hans' }) },
    bytes: Buffer.from([0xc3]), // the first of the two bytes of "ü"
    expect: { unreadable: /not valid UTF-8/ },
  },
  {
    name: 'PatientName overlong UTF-8 encoding of "/" on the wire',
    attributes: { [Tag.PatientName]: attr('PN', { Alphabetic: 'A@@BYTES@@B' }) },
    bytes: Buffer.from([0xc0, 0xaf]),
    expect: { unreadable: /not valid UTF-8/ },
  },
  {
    name: 'PatientName valid multi-byte UTF-8 on the wire',
    attributes: { [Tag.PatientName]: attr('PN', { Alphabetic: 'M@@BYTES@@ller^Hans' }) },
    bytes: Buffer.from('ü\u{1F600}', 'utf8'),
    expect: {
      normalised: ({ patient }) => assert.equal(patient?.name?.[0]?.family, 'Mü\u{1F600}ller'),
    },
  },
  {
    name: 'PatientID with terminal escapes',
    attributes: { [Tag.PatientID]: attr('LO', 'PID\u001b[2J') },
    expect: rejected('(0010,0020)', /control character/),
  },
  {
    name: 'PatientID of 65 characters',
    attributes: { [Tag.PatientID]: attr('LO', 'P'.repeat(65)) },
    expect: rejected('(0010,0020)', /65 characters long/),
  },
  {
    name: 'PatientID of 40,000 characters',
    attributes: { [Tag.PatientID]: attr('LO', 'P'.repeat(40_000)) },
    expect: rejected('(0010,0020)', /40000 characters long/),
  },
  {
    name: 'PatientID with VR PN',
    attributes: { [Tag.PatientID]: attr('PN', { Alphabetic: 'A' }) },
    expect: rejected('(0010,0020)', /VR is "PN", not LO/),
  },
  {
    name: 'PatientID a number',
    attributes: { [Tag.PatientID]: attr('LO', 12345) },
    expect: rejected('(0010,0020)', /LO value is not a string/),
  },
  {
    name: 'IssuerOfPatientID "X\\Y"',
    attributes: { [Tag.IssuerOfPatientID]: attr('LO', 'X\\Y') },
    expect: rejected('(0010,0021)', /more than one value/),
  },
  {
    name: 'PatientName a string',
    attributes: { [Tag.PatientName]: attr('PN', 'Doe^John') },
    expect: rejected('(0010,0010)', /person name is not an object/),
  },
  {
    name: 'PatientName group a number',
    attributes: { [Tag.PatientName]: attr('PN', { Alphabetic: 5 }) },
    expect: rejected('(0010,0010)', /group Alphabetic is not a string/),
  },
  {
    name: 'PatientName unknown group',
    attributes: { [Tag.PatientName]: attr('PN', { Alphabetic: 'A', Nickname: 'x' }) },
    expect: rejected('(0010,0010)', /group "Nickname" is unknown/),
  },
  {
    name: 'ReferringPhysicianName an array',
    attributes: { [Tag.ReferringPhysicianName]: attr('PN', ['Doe']) },
    expect: rejected('(0008,0090)', /person name is not an object/),
  },
  {
    name: 'ProcedureCodeSequence item a string',
    attributes: { [Tag.ProcedureCodeSequence]: attr('SQ', 'item') },
    expect: rejected('(0008,1032)', /sequence item is not/),
  },
  {
    name: 'ProcedureCodeSequence item an array',
    attributes: { [Tag.ProcedureCodeSequence]: attr('SQ', [code('1.2')]) },
    expect: rejected('(0008,1032)', /sequence item is not/),
  },
  {
    name: 'ContentSequence nested 40 deep',
    attributes: { '0040A730': nested(40) },
    expect: rejected('(0040,A730)', /deeper than 32 levels/),
  },
  {
    name: 'ContentSequence nested 100,000 deep (3.5 MB of JSON)',
    attributes: { '0040A730': '@@RAW@@' },
    rawJson: `{"vr":"SQ","Value":[${'{"0040A730":{"vr":"SQ","Value":['.repeat(100_000)}{}${']}}'.repeat(100_000)}]}`,
    expect: rejected('(0040,A730)', /deeper than 32 levels/),
  },
  {
    name: 'StudyDescription Value an object',
    attributes: { [Tag.StudyDescription]: { vr: 'LO', Value: { 0: 'x' } } },
    expect: rejected('(0008,1030)', /"Value" is not an array/),
  },
  {
    name: 'SeriesNumber Value a number',
    attributes: { [Tag.SeriesNumber]: { vr: 'IS', Value: 5 } },
    expect: rejected('(0020,0011)', /"Value" is not an array/),
  },
  {
    name: 'StudyDescription without vr',
    attributes: { [Tag.StudyDescription]: { Value: ['x'] } },
    expect: rejected('(0008,1030)', /"vr" undefined is not a VR|"vr" .* is not a VR/),
  },
  {
    name: 'StudyDescription vr "XX"',
    attributes: { [Tag.StudyDescription]: attr('XX', 'x') },
    expect: rejected('(0008,1030)', /VR XX is unknown/),
  },
  {
    name: 'StudyDescription vr "lo"',
    attributes: { [Tag.StudyDescription]: attr('lo', 'x') },
    expect: rejected('(0008,1030)', /"vr" "lo" is not a VR/),
  },
  {
    name: 'StudyDescription attribute null',
    attributes: { [Tag.StudyDescription]: null },
    expect: rejected('(0008,1030)', /attribute is not an object/),
  },
  {
    name: 'StudyDescription attribute a string',
    attributes: { [Tag.StudyDescription]: 'Head CT' },
    expect: rejected('(0008,1030)', /attribute is not an object/),
  },
  {
    name: 'StudyDescription a number',
    attributes: { [Tag.StudyDescription]: attr('LO', 5) },
    expect: rejected('(0008,1030)', /LO value is not a string/),
  },
  {
    name: 'a key that is not a tag',
    attributes: { PatientID: attr('LO', 'X') },
    expect: rejected('"PatientID"', /key is not a tag/),
  },
  {
    name: 'Rows (US) a string',
    attributes: { '00280010': attr('US', 'abc') },
    expect: rejected('(0028,0010)', /US value is not a number/),
  },
  {
    name: 'SliceThickness (DS) an object',
    attributes: { '00180050': attr('DS', { value: 1 }) },
    expect: rejected('(0018,0050)', /DS value is neither/),
  },
  {
    name: 'FrameIncrementPointer (AT) not a tag',
    attributes: { '00280009': attr('AT', 'xyz') },
    expect: rejected('(0028,0009)', /AT value is not a tag/),
  },
  {
    name: 'InlineBinary a number',
    attributes: { '00291010': { vr: 'OB', InlineBinary: 5 } },
    expect: rejected('(0029,1010)', /"InlineBinary" is not a string/),
  },
  {
    name: 'SOPInstanceUID "1..2"',
    attributes: { [Tag.SOPInstanceUID]: attr('UI', '1..2') },
    expect: rejected('(0008,0018)', /empty component/, false),
  },
  {
    name: 'SOPInstanceUID a URL',
    attributes: { [Tag.SOPInstanceUID]: attr('UI', 'http://attacker.example/1') },
    expect: rejected('(0008,0018)', /only digits/, false),
  },
  {
    name: 'SeriesInstanceUID "."',
    attributes: { [Tag.SeriesInstanceUID]: attr('UI', '.') },
    expect: rejected('(0020,000E)', /empty component/),
  },
  {
    name: 'SOPClassUID with a leading zero: accepted as it is (archives hold such UIDs)',
    attributes: { [Tag.SOPClassUID]: attr('UI', '1.02.3') },
    expect: {
      normalised: ({ study }) => {
        const classes = study?.series?.flatMap((series) => series.instance ?? []).map((i) => i.sopClass.code);
        assert.ok(classes?.includes('urn:oid:1.02.3'), JSON.stringify(classes));
      },
    },
  },
  {
    name: 'StudyInstanceUID "..": not this study',
    attributes: { [Tag.StudyInstanceUID]: attr('UI', '..') },
    expect: rejected('(0020,000D)', /empty component/),
  },
  {
    name: 'StudyInstanceUID of another study',
    attributes: { [Tag.StudyInstanceUID]: attr('UI', '1.2.840.5') },
    expect: rejected('(0020,000D)', /belongs to another study/),
  },
  { name: 'the instance null', instance: null, expect: rejected('(dataset)', /not a DICOM JSON object/, false) },
  {
    name: 'the instance a string',
    instance: 'instance',
    expect: rejected('(dataset)', /not a DICOM JSON object/, false),
  },
  { name: 'the instance an array', instance: [], expect: rejected('(dataset)', /not a DICOM JSON object/, false) },
  {
    name: 'CodingSchemeUID a URL (was urn:oid:http://…)',
    attributes: { [Tag.ProcedureCodeSequence]: attr('SQ', code('http://attacker.example/codes')) },
    expect: {
      normalised: ({ study }) => {
        assert.doesNotMatch(JSON.stringify(study), /urn:oid:http/);
        assert.equal(study?.procedureCode?.[0]?.coding?.[0]?.system, undefined);
      },
    },
  },
  {
    name: 'CodingSchemeUID a UID',
    attributes: { [Tag.ProcedureCodeSequence]: attr('SQ', code('1.2.3.4')) },
    expect: {
      normalised: ({ study }) => assert.equal(study?.procedureCode?.[0]?.coding?.[0]?.system, 'urn:oid:1.2.3.4'),
    },
  },
  {
    name: 'SeriesNumber (IS) as the string "7"',
    attributes: { [Tag.SeriesNumber]: attr('IS', '7') },
    expect: { normalised: ({ study }) => assert.ok(study?.series?.some((series) => series.number === 7)) },
  },
  {
    name: 'SeriesNumber (IS) as the number 8',
    attributes: { [Tag.SeriesNumber]: attr('IS', 8) },
    expect: { normalised: ({ study }) => assert.ok(study?.series?.some((series) => series.number === 8)) },
  },
  {
    name: 'SOPInstanceUID padded with NUL',
    attributes: { [Tag.SOPInstanceUID]: attr('UI', 'SOP\0') },
    expect: {
      normalised: ({ study }) => assert.doesNotMatch(JSON.stringify(study), /\\u0000/),
    },
  },
  {
    name: 'StudyDescription Value [null]',
    attributes: { [Tag.StudyDescription]: attr('LO', null) },
    expect: { normalised: ({ study }) => assert.equal(study?.description, undefined) },
  },
  {
    name: 'lower-case tag keys',
    attributes: { '0008103e': attr('LO', 'Lower') },
    expect: { normalised: ({ study }) => assert.ok(study?.series?.some((series) => series.description === 'Lower')) },
  },
  {
    name: 'PatientName Ideographic only',
    attributes: { [Tag.PatientName]: attr('PN', { Ideographic: '山田^太郎' }) },
    expect: {
      normalised: ({ patient }) =>
        assert.ok(patient?.name?.some((name) => name.text === '山田 太郎' || name.family === 'Doe')),
    },
  },
  {
    name: 'SeriesNumber "abc"',
    attributes: { [Tag.SeriesNumber]: attr('IS', 'abc') },
    expect: { warned: { keyword: 'SeriesNumber', reason: /not an unsigned integer/ } },
  },
  {
    name: 'StudyDate "2024-99-99"',
    attributes: { [Tag.StudyDate]: attr('DA', '2024-99-99') },
    expect: { warned: { keyword: 'StudyDate', reason: /not a valid date/ } },
  },
  {
    name: 'Laterality "X"',
    attributes: { [Tag.Laterality]: attr('CS', 'X') },
    expect: { warned: { keyword: 'Laterality', reason: /not R, L, B or U/ } },
  },
];

/** A loopback DICOM server answering study metadata with whatever the current case says. */
async function startHostileDicom(): Promise<{
  baseUrl: string;
  body: Buffer;
  requests: number;
  close(): Promise<void>;
}> {
  const state = { baseUrl: '', body: Buffer.from('[]'), requests: 0, close: () => Promise.resolve() };
  const server: Server = createServer((request, response) => {
    if (/\/studies\/[^/]+\/metadata$/.test(request.url ?? '')) {
      state.requests += 1;
      response.writeHead(200, { 'content-type': 'application/dicom+json' }).end(state.body);
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

describe('hostile study metadata: rejected where it is wrong, the rest of the study written', () => {
  let fhirServer: RunningFhirServer;
  let dicom: Awaited<ReturnType<typeof startHostileDicom>>;
  let reader: StudyReader;
  const outcomes = tally('study metadata');

  before(async () => {
    fhirServer = await startFhirServer();
    dicom = await startHostileDicom();
    reader = createStudyReader(
      createServerHttpClient({ baseUrl: dicom.baseUrl, authorization: noAuthorization }),
      'v2',
    );
  });
  after(async () => {
    outcomes.print();
    await dicom.close();
    await fhirServer.close();
  });

  cases.forEach((testCase, index) => {
    it(testCase.name, async () => {
      const started = performance.now();
      const study = `1.2.840.77.${index + 1}`;
      const good = instanceOf(study, `${study}.1`, `${study}.1.1`, `PID-${index + 1}`);
      const hostile: unknown =
        'instance' in testCase
          ? testCase.instance
          : instanceOf(study, `${study}.2`, `${study}.2.1`, `PID-${index + 1}`);
      for (const [tag, value] of Object.entries(testCase.attributes ?? {})) {
        const dataset = hostile as Dataset;
        if (value === undefined) delete dataset[tag];
        else dataset[tag] = value;
      }
      // SOP 'SOP' stands for a UID the case sets itself.
      const hostileJson = JSON.stringify(hostile)
        .replace('"SOP\\u0000"', `"${study}.2.1\\u0000"`)
        .replace('"@@RAW@@"', () => testCase.rawJson ?? '');
      const [before, after] = `[${JSON.stringify(good)},${hostileJson}]`.split('@@BYTES@@') as [string, string?];
      dicom.body =
        testCase.bytes && after !== undefined
          ? Buffer.concat([Buffer.from(before), testCase.bytes, Buffer.from(after)])
          : Buffer.from(before);

      const failures: Failure[] = [];
      const warnings: TagIssue[] = [];
      const message: StudyMessage = {
        study,
        changes: [
          { series: `${study}.1`, sop: `${study}.1.1`, action: 'create', sequence: 1, state: 'current' },
          { series: `${study}.2`, sop: `${study}.2.1`, action: 'create', sequence: 2, state: 'current' },
        ],
        maxSequence: 2,
      };
      const readsBefore = dicom.requests;
      const synced = syncStudy(
        message,
        {
          dicom: reader,
          fhir: createFhirClient({ baseUrl: fhirServer.url, authorization: noAuthorization }),
          recordFailure: (failure) => {
            failures.push(failure);
            return Promise.resolve();
          },
          recordWarnings: (_study, issues) => {
            warnings.push(...issues);
            return Promise.resolve();
          },
        },
        { mapping: options },
      );
      if ('unreadable' in testCase.expect) {
        const reason = testCase.expect.unreadable;
        await assert.rejects(synced, (error: unknown) => {
          assert.ok(error instanceof NonRetryableError, String(error));
          assert.equal(error.category, 'bad-dicom-data');
          assert.equal(error.location.study, study);
          assert.match(error.message, reason);
          assert.match(error.message, new RegExp(`^DICOM GET v2/studies/${study.replaceAll('.', '\\.')}/metadata `));
          return true;
        });
        assert.equal(dicom.requests, readsBefore + 1, 'read once, not retried');
        assert.deepEqual(failures, []);
        const studies = await fhirServer.all<ImagingStudy>('ImagingStudy');
        assert.ok(!studies.some((candidate) => candidate.identifier?.some((id) => id.value === `urn:oid:${study}`)));
        outcomes.add('refused whole with its location', performance.now() - started);
        return;
      }
      const result = await synced;
      const written: Written = {
        study: (await fhirServer.all<ImagingStudy>('ImagingStudy')).find((candidate) =>
          candidate.identifier?.some((identifier) => identifier.value === `urn:oid:${study}`),
        ),
        patient: (await fhirServer.all<Patient>('Patient')).find((candidate) =>
          candidate.identifier?.some((identifier) => identifier.value === `PID-${index + 1}`),
        ),
        warnings,
      };
      const instanceUids = (written.study?.series ?? []).flatMap((series) => (series.instance ?? []).map((i) => i.uid));
      assert.ok(instanceUids.includes(`${study}.1.1`), 'the good instance is written');
      for (const identifier of written.study?.identifier ?? []) assert.doesNotMatch(identifier.value ?? '', /http/);

      if ('rejected' in testCase.expect) {
        const { tag, reason, located } = testCase.expect.rejected;
        const bad = failures.filter((failure) => failure.category === 'bad-dicom-data');
        assert.equal(bad.length, 1, JSON.stringify(failures.map((failure) => failure.reason)));
        const [failure] = bad as [Failure];
        assert.equal(failure.study, study);
        assert.equal(failure.tag, tag);
        assert.match(failure.reason, reason);
        if (located) assert.equal(failure.instance, `${study}.2.1`);
        assert.equal(instanceUids.length, 1, 'only the good instance is written');
        assert.equal(result.rejectedInstances, 1);
        outcomes.add('rejected with its location', performance.now() - started);
      } else if ('normalised' in testCase.expect) {
        assert.deepEqual(failures, []);
        assert.equal(instanceUids.length, 2, 'both instances are written');
        testCase.expect.normalised(written);
        outcomes.add('normalised', performance.now() - started);
      } else {
        const { keyword, reason } = testCase.expect.warned;
        assert.deepEqual(failures, []);
        assert.equal(instanceUids.length, 2, 'both instances are written');
        const warning = warnings.find((issue) => issue.keyword === keyword);
        assert.ok(warning, `a ${keyword} warning`);
        assert.match(warning.reason, reason);
        assert.equal(warning.instance, `${study}.2.1`);
        outcomes.add('value skipped with a tag warning', performance.now() - started);
      }
    });
  });

  it('an exception the mapping did not expect (a reader handing over a throwing object) is located bad data, not retried', async () => {
    const study = '1.2.840.77.999';
    const good = instanceOf(study, `${study}.1`, `${study}.1.1`, 'PID-999');
    const hostile = instanceOf(study, `${study}.2`, `${study}.2.1`, 'PID-999');
    let reads = 0;
    // Passes the shape check (first read), then throws while the mapping reads the name: a TypeError from a PN.
    Object.defineProperty(hostile, Tag.PatientName, {
      enumerable: true,
      get: () => {
        if (++reads > 1) throw new TypeError("Cannot read properties of undefined (reading 'Alphabetic')");
        return attr('PN', { Alphabetic: 'Doe^Jane' });
      },
    });
    const throwingReader: StudyReader = studyReaderOver(() => Promise.resolve([good, hostile]));
    const failures: Failure[] = [];
    const outcome = await syncStudy(
      { study, changes: [], maxSequence: 1 },
      {
        dicom: throwingReader,
        fhir: createFhirClient({ baseUrl: fhirServer.url, authorization: noAuthorization }),
        recordFailure: (failure) => {
          failures.push(failure);
          return Promise.resolve();
        },
      },
      { mapping: options },
    ).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if ('error' in outcome) {
      const error = outcome.error as { retryable?: boolean; category?: string; message?: string };
      assert.equal(error.retryable, false, 'not retried as transient');
      assert.equal(error.category, 'bad-dicom-data');
      assert.match(error.message ?? '', new RegExp(`TypeError.*study ${study.replace(/\./g, '\\.')}`));
    } else {
      const failure = failures.find((candidate) => /TypeError/.test(candidate.reason));
      assert.ok(failure, JSON.stringify(failures));
      assert.equal(failure.study, study);
    }
    outcomes.add('rejected with its location');
  });
});
