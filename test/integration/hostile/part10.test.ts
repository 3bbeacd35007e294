/**
 * Hostile Part-10 files: given to `dicom-cast map` (run in a child process capped at 512 MB of heap, its peak memory
 * and time measured), and stored in the DICOM stand-in (dev/dicom-server) for the real writer to read back.
 * Each case asserts the exact outcome: a located refusal, a rejected instance naming its tag, or a correct mapping.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeStowBody, startDicomServer, type RunningDicomServer } from '../../../dev/dicom-server/index.js';
import { makeInstanceFile, type InstanceSpec } from '../../../dev/samples/instanceFile.js';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/authorizationProvider.js';
import { createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import { createFhirClient } from '../../../shared/fhir/fhirClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import type { Failure } from '../../../shared/errors/errors.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { deeplyNestedFile, delimitedNestedFile, flatFile, implicitNestedFile, stringElement } from './part10Files.js';
import { tally } from './tally.js';

const mapModule = fileURLToPath(new URL('../../../cli/commands/map.js', import.meta.url));
const ioModule = fileURLToPath(new URL('../../../cli/io.js', import.meta.url));

interface MapRun {
  code: number;
  stdout: string;
  stderr: string;
  peakRssMb: number;
  ms: number;
}

/** `dicom-cast map <file>` in a child process whose heap is capped, with its peak RSS and time. */
function mapInChild(file: string): MapRun {
  const script = `
    const { run } = await import(${JSON.stringify(mapModule)});
    const { processIo } = await import(${JSON.stringify(ioModule)});
    const out = [], err = [];
    const started = performance.now();
    const code = await run([${JSON.stringify(file)}], processIo({ out: (t) => out.push(t), err: (t) => err.push(t) }));
    const ms = performance.now() - started;
    process.stdout.write(JSON.stringify({ code, stdout: out.join('\\n').slice(0, 20000), stderr: err.join('\\n'),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), ms: Math.round(ms) }));`;
  const child = spawnSync(process.execPath, ['--max-old-space-size=512', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(
    child.status,
    0,
    `the map process itself failed (status ${child.status}): ${child.stderr.slice(0, 2000)}`,
  );
  return JSON.parse(child.stdout) as MapRun;
}

interface MapCase {
  name: string;
  file: () => Buffer;
  expect: { code: 0 | 1; stderr: RegExp; stdout?: RegExp };
}

const esc = '\u001b]0;pwned\u0007';

/** The file with its 10-byte PatientID value ("HOSTILE-1 ") replaced by another 10 bytes. */
function withPatientId(file: Buffer, value: string): Buffer {
  assert.equal(value.length, 10);
  return Buffer.from(file.toString('latin1').replace('HOSTILE-1 ', value), 'latin1');
}
const mapCases: MapCase[] = [
  {
    name: 'sequences nested 100,000 deep, defined lengths (was 3.9 GB)',
    file: () => deeplyNestedFile(100_000),
    expect: {
      code: 1,
      stderr: /refused before reading: sequences nest deeper than 32 levels \(at byte \d+, tag \(FFFE,E000\)\)/,
    },
  },
  {
    name: 'sequences nested 33 deep',
    file: () => deeplyNestedFile(33),
    expect: { code: 1, stderr: /refused before reading: sequences nest deeper than 32 levels/ },
  },
  {
    name: 'sequences nested 32 deep: mapped',
    file: () => deeplyNestedFile(32),
    expect: { code: 0, stderr: /^$/, stdout: /"resourceType": "Bundle"/ },
  },
  {
    name: 'sequences nested 100,000 deep, undefined lengths and delimiters',
    file: () => delimitedNestedFile(100_000),
    expect: { code: 1, stderr: /refused before reading: sequences nest deeper than 32 levels/ },
  },
  {
    name: 'implicit VR little endian, nested 40 deep (VR from the dictionary)',
    file: () => implicitNestedFile(40),
    expect: { code: 1, stderr: /refused before reading: sequences nest deeper than 32 levels/ },
  },
  {
    name: 'a file cut in the middle of an element',
    file: () => flatFile('1.2.3.95', '1.2.3.95.1.1').subarray(0, -7),
    expect: {
      code: 1,
      stderr: /the file ends inside an element that claims 10 bytes \(truncated\?\) \(at byte \d+, tag \(0020,000E\)\)/,
    },
  },
  {
    name: 'an element whose length runs past the end of the file',
    file: () => {
      const file = flatFile('1.2.3.94', '1.2.3.94.1.1', [stringElement(0x0020, 0x0011, 'IS', '1')]);
      file.writeUInt16LE(0x7fff, file.length - 4); // the IS value claims 32,767 bytes
      return file;
    },
    expect: { code: 1, stderr: /claims 32767 bytes \(truncated\?\) \(at byte \d+, tag \(0020,0011\)\)/ },
  },
  {
    name: 'PatientID "A\\B" (was Patient A)',
    file: () => withPatientId(flatFile('1.2.3.93', '1.2.3.93.1.1'), 'HOST\\IL-1 '),
    expect: { code: 1, stderr: /rejected: .*\(0010,0020\) has 2 values; an identifier has one/ },
  },
  {
    name: 'PatientID with a terminal escape: rejected, printed escaped',
    file: () => withPatientId(flatFile('1.2.3.92', '1.2.3.92.1.1'), esc),
    expect: { code: 1, stderr: /\(0010,0020\) .*holds a control character/ },
  },
  {
    name: 'a StudyInstanceUID with a leading zero: accepted as it is (archives hold such UIDs)',
    file: () => flatFile('1.02.3', '1.2.3.91.1.1'),
    expect: { code: 0, stderr: /^$/, stdout: /"value": "urn:oid:1\.02\.3"/ },
  },
];

describe('hostile Part-10 files', () => {
  const outcomes = tally('Part-10 files');
  let folder: string;
  let worstRssMb = 0;
  let worstMs = 0;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'hostile-part10-'));
  });
  after(async () => {
    outcomes.print();
    console.log(`dicom-cast map on hostile Part-10 files: worst peak RSS ${worstRssMb} MB, worst time ${worstMs} ms`);
    await rm(folder, { recursive: true, force: true });
  });

  describe('dicom-cast map', () => {
    mapCases.forEach((testCase, index) => {
      it(testCase.name, async () => {
        const file = join(folder, `case-${index}.dcm`);
        await writeFile(file, testCase.file());
        const run = mapInChild(file);
        worstRssMb = Math.max(worstRssMb, run.peakRssMb);
        worstMs = Math.max(worstMs, run.ms);
        assert.equal(run.code, testCase.expect.code, run.stderr);
        assert.match(run.stderr, testCase.expect.stderr);
        assert.doesNotMatch(
          run.stderr,
          // eslint-disable-next-line no-control-regex
          /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/,
          'no raw control character printed',
        );
        if (testCase.expect.stdout) assert.match(run.stdout, testCase.expect.stdout);
        assert.ok(run.peakRssMb < 400, `peak RSS ${run.peakRssMb} MB`);
        outcomes.add(testCase.expect.code === 0 ? 'normalised' : 'clear located error', run.ms);
      });
    });
  });

  describe('stored in the DICOM stand-in, read back by the writer', () => {
    let dicom: RunningDicomServer;
    let fhir: RunningFhirServer;
    before(async () => {
      dicom = await startDicomServer();
      fhir = await startFhirServer();
    });
    after(async () => {
      await dicom.close();
      await fhir.close();
    });

    const spec = (study: string, sop: string, extra: Partial<InstanceSpec> = {}): InstanceSpec => ({
      studyUid: study,
      seriesUid: `${study}.1`,
      sopUid: sop,
      patientId: 'STANDIN-1',
      patientName: 'Doe^Jane',
      modality: 'CT',
      ...extra,
    });

    const standInCases: { name: string; extra: Partial<InstanceSpec>; tag: string; reason: RegExp }[] = [
      {
        name: 'PatientID "A\\B" stored by STOW',
        extra: { patientId: 'A\\B' },
        tag: '(0010,0020)',
        reason: /has 2 values/,
      },
      {
        name: 'PatientID with U+FFFD stored by STOW',
        extra: { patientId: 'A\uFFFDB' },
        tag: '(0010,0020)',
        reason: /U\+FFFD/,
      },
    ];

    standInCases.forEach((testCase, index) => {
      it(testCase.name, async () => {
        const started = performance.now();
        const study = `1.2.840.66.${index + 1}`;
        const files = [
          makeInstanceFile(spec(study, `${study}.1.1`)),
          makeInstanceFile(spec(study, `${study}.1.2`, testCase.extra)),
        ];
        const { body, contentType } = encodeStowBody(files);
        const stored = await fetch(`${dicom.url}/v2/studies`, {
          method: 'POST',
          body,
          headers: { 'content-type': contentType },
        });
        assert.ok(stored.status === 200 || stored.status === 202, `STOW answered ${stored.status}`);

        const failures: Failure[] = [];
        const result = await syncStudy(
          { study, changes: [], maxSequence: 2 },
          {
            dicom: createStudyReader(
              createServerHttpClient({ baseUrl: dicom.url, authorization: noAuthorization }),
              'v2',
            ),
            fhir: createFhirClient({ baseUrl: fhir.url, authorization: noAuthorization }),
            recordFailure: (failure) => {
              failures.push(failure);
              return Promise.resolve();
            },
          },
          {
            mapping: {
              endpoint: dicom.url,
              patientSystemId: '',
              isIssuerIdUsed: false,
              defaultTimezoneOffset: '+00:00',
              enforceValidation: false,
            },
          },
        );
        assert.equal(result.outcome, 'created');
        assert.equal(result.instances, 1, 'the good instance is written');
        assert.equal(failures.length, 1, JSON.stringify(failures));
        assert.deepEqual(
          [failures[0]?.category, failures[0]?.study, failures[0]?.instance, failures[0]?.tag],
          ['bad-dicom-data', study, `${study}.1.2`, testCase.tag],
        );
        assert.match(failures[0]?.reason ?? '', testCase.reason);
        outcomes.add('rejected with its location', performance.now() - started);
      });
    });
  });
});
