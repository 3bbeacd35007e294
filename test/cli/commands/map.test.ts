import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bundle, Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { defaultEndpoint, defaultMapOptions, run } from '../../../cli/commands/map.js';
import { processIo } from '../../../cli/io.js';
import { parseInstance } from '../../../dev/dicom-server/part10.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../../dev/samples/index.js';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { buildStudyTransaction } from '../../../shared/mapping/transaction/studyTransaction.js';
import { bundleOf } from '../../support/studyPlans.js';
import { validateR4 } from '../../../shared/validation/index.js';
import { C, ctDoseContent, srDataset, srFile, type SrSpec } from '../../support/doseReports.js';

interface MapRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function map(...args: string[]): Promise<MapRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await run(args, processIo({ out: (text) => stdout.push(text), err: (text) => stderr.push(text) }));
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** The real entry point (`node dist/cli/main.js map …`, or cli/main.ts through tsx when run from source). */
function spawnMap(...args: string[]): Promise<MapRun> {
  const root = repositoryRoot();
  const command = import.meta.url.endsWith('.ts')
    ? ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'main.ts')]
    : [join(root, 'dist', 'cli', 'main.js')];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command, 'map', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function resources(bundle: Bundle): Resource[] {
  return (bundle.entry ?? []).map((entry) => entry.resource).filter((resource): resource is Resource => !!resource);
}

function bundlesOf(output: string): Bundle[] {
  const parsed = JSON.parse(output) as Bundle | Bundle[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

function assertValid(bundle: Bundle): void {
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'transaction');
  for (const resource of resources(bundle)) assert.deepEqual(validateR4(resource), [], JSON.stringify(resource));
}

const noStackTrace = (text: string) => assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, text);

// A study of two CT series and a CT dose report, as Part-10 files written by dcmjs.
const study = uid('map-test', 'study');
const seriesSpec = (series: number, instanceNumber: number, modality = 'CT'): InstanceSpec => ({
  studyUid: study,
  seriesUid: uid('map-test', 'series', series),
  sopUid: uid('map-test', 'sop', series, instanceNumber),
  patientId: 'MAP-1',
  patientName: 'Map^Test',
  patientSex: 'F',
  birthDate: '19700101',
  modality,
  accessionNumber: 'ACC-MAP',
  studyDescription: 'CT chest',
  seriesNumber: series,
  instanceNumber,
  bodyPart: 'CHEST',
});
const sr: SrSpec = {
  studyUid: study,
  seriesUid: uid('map-test', 'series', 9),
  sopUid: uid('map-test', 'sr'),
  patientId: 'MAP-1',
  patientName: 'Map^Test',
  accessionNumber: 'ACC-MAP',
  title: C.xRayDoseReport,
  content: ctDoseContent(
    [
      { uid: uid('map-test', 'event', 1), ctdiVol: 10.5, dlp: 300 },
      { uid: uid('map-test', 'event', 2), ctdiVol: 4, dlp: 90 },
    ],
    390,
  ),
};

describe('dicom-cast map', () => {
  let dir: string;
  let folder: string;
  const files = () => [
    makeInstanceFile(seriesSpec(1, 1)),
    makeInstanceFile(seriesSpec(1, 2)),
    makeInstanceFile(seriesSpec(2, 1, 'MR')),
    srFile(sr),
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dicom-cast-map-'));
    folder = join(dir, 'study');
    await mkdir(join(folder, 'nested'), { recursive: true });
    const [a, b, c, d] = files();
    await writeFile(join(folder, 'a.dcm'), a as Buffer);
    await writeFile(join(folder, 'b'), b as Buffer); // no extension: recognised by its DICM prefix
    await writeFile(join(folder, 'nested', 'c.dcm'), c as Buffer);
    await writeFile(join(folder, 'nested', 'dose.dcm'), d as Buffer);
    await writeFile(join(folder, 'README.txt'), 'not DICOM');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('a folder of Part-10 files', () => {
    let result: MapRun;
    let bundle: Bundle;
    before(async () => {
      result = await map(folder);
      bundle = bundlesOf(result.stdout)[0] as Bundle;
    });

    it('prints the transaction for an empty FHIR server: Endpoint, Patient, ImagingStudy, Observations', () => {
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        bundle.entry?.map((entry) => `${entry.request?.method} ${entry.resource?.resourceType}`),
        [
          'POST Endpoint',
          'POST Patient',
          'POST ImagingStudy',
          'POST Observation',
          'POST Observation',
          'POST Observation',
        ],
      );
      assertValid(bundle);
      const [endpoint, patient, imagingStudy] = resources(bundle) as [Endpoint, Patient, ImagingStudy];
      assert.equal(endpoint.address, defaultEndpoint);
      assert.deepEqual(patient.identifier, [{ value: 'MAP-1' }]);
      assert.equal(imagingStudy.numberOfSeries, 3);
      assert.equal(imagingStudy.numberOfInstances, 4);
      assert.deepEqual(
        imagingStudy.modality?.map((coding) => coding.code),
        ['CT', 'MR', 'SR'],
      );
      const observations = resources(bundle).filter((r): r is Observation => r.resourceType === 'Observation');
      assert.deepEqual(
        observations.map((o) => o.identifier?.[0]?.value),
        [`urn:oid:${sr.sopUid}`, `urn:oid:${uid('map-test', 'event', 1)}`, `urn:oid:${uid('map-test', 'event', 2)}`],
      );
    });

    it('names the file it skipped on stderr', () => {
      assert.match(result.stderr, /skipped: .*README\.txt: neither a DICOM JSON \(\.json\) nor a Part-10 file/);
    });

    it('is exactly what the writer builds from the same instances as the DICOM service returns them', async () => {
      // The stand-in DICOM service's metadata (dev/dicom-server) for the same files, through the writer's builder.
      const datasets = files().map((file) => parseInstance(file).dataset);
      const plan = buildStudyTransaction(
        { study, datasets, state: {}, applyDemographics: true, validate: validateR4 },
        defaultMapOptions,
      );
      assert.deepEqual(bundle, bundleOf(plan));
      // …and the same again through the real entry point.
      const spawned = await spawnMap(folder);
      assert.equal(spawned.code, 0, spawned.stderr);
      assert.deepEqual(JSON.parse(spawned.stdout), bundle);
    });
  });

  describe('DICOM JSON input', () => {
    const json = (dataset: DicomJsonDataset | DicomJsonDataset[]) => Buffer.from(JSON.stringify(dataset));

    it('one instance object', async () => {
      const path = join(dir, 'one.json');
      await writeFile(path, json(parseInstance(makeInstanceFile(seriesSpec(1, 1))).dataset));
      const result = await map(path);
      assert.equal(result.code, 0, result.stderr);
      assertValid(bundlesOf(result.stdout)[0] as Bundle);
    });

    it('an array, as WADO-RS study metadata returns it, with the dose report', async () => {
      const path = join(dir, 'metadata.json');
      await writeFile(path, json([parseInstance(makeInstanceFile(seriesSpec(1, 1))).dataset, srDataset(sr)]));
      const result = await map(path);
      assert.equal(result.code, 0, result.stderr);
      const bundle = bundlesOf(result.stdout)[0] as Bundle;
      assert.equal(resources(bundle).filter((r) => r.resourceType === 'Observation').length, 3);
      assertValid(bundle);
    });

    it('several studies: one Bundle per study, as a JSON array ordered by Study Instance UID', async () => {
      const other = { ...seriesSpec(1, 1), studyUid: uid('map-test', 'other-study') };
      const path = join(dir, 'two-studies.json');
      await writeFile(
        path,
        json([
          parseInstance(makeInstanceFile(seriesSpec(1, 1))).dataset,
          parseInstance(makeInstanceFile(other)).dataset,
        ]),
      );
      const result = await map(path);
      assert.equal(result.code, 0, result.stderr);
      const bundles = bundlesOf(result.stdout);
      assert.equal(bundles.length, 2);
      const studyUids = bundles.map(
        (b) => (resources(b).find((r) => r.resourceType === 'ImagingStudy') as ImagingStudy).identifier?.[0]?.value,
      );
      assert.deepEqual(studyUids, [...studyUids].sort());
    });
  });

  describe('options', () => {
    it('--endpoint, --patient-system, --issuer-as-system, --no-observations', async () => {
      const path = join(dir, 'issuer.json');
      const dataset = parseInstance(makeInstanceFile(seriesSpec(1, 1))).dataset;
      const report = srDataset(sr);
      for (const instance of [dataset, report]) instance[Tag.IssuerOfPatientID] = { vr: 'LO', Value: ['HOSPITAL-A'] };
      await writeFile(path, JSON.stringify([dataset, report]));

      const system = await map(
        path,
        '--endpoint',
        'https://pacs.contoso.com/dicomweb',
        '--patient-system',
        'urn:oid:9.9',
      );
      const [endpoint, patient] = resources(bundlesOf(system.stdout)[0] as Bundle) as [Endpoint, Patient];
      assert.equal(endpoint.address, 'https://pacs.contoso.com/dicomweb');
      assert.deepEqual(patient.identifier, [{ system: 'urn:oid:9.9', value: 'MAP-1' }]);

      const issuer = await map(path, '--issuer-as-system', '--patient-system=ignored');
      const issuerPatient = resources(bundlesOf(issuer.stdout)[0] as Bundle)[1] as Patient;
      assert.deepEqual(issuerPatient.identifier, [{ system: 'HOSPITAL-A', value: 'MAP-1' }]);

      const off = await map(path, '--no-observations');
      assert.ok(!resources(bundlesOf(off.stdout)[0] as Bundle).some((r) => r.resourceType === 'Observation'));
    });

    it('--enforce-validation: an invalid tag value fails its instance', async () => {
      const path = join(dir, 'bad-sex.json');
      const good = parseInstance(makeInstanceFile(seriesSpec(1, 1))).dataset;
      const bad = parseInstance(makeInstanceFile({ ...seriesSpec(1, 2) })).dataset;
      bad[Tag.SeriesNumber] = { vr: 'IS', Value: [-3] };
      await writeFile(path, JSON.stringify([good, bad]));

      const lenient = await map(path);
      assert.equal(lenient.code, 0);
      assert.match(lenient.stderr, /warning: SeriesNumber \(0020,0011\) = "-3": not an unsigned integer .*; skipped/);

      const strict = await map(path, '--enforce-validation');
      assert.equal(strict.code, 0);
      assert.match(strict.stderr, /rejected: not an unsigned integer: "-3" \[\(0020,0011\)\]/);
      const imagingStudy = resources(bundlesOf(strict.stdout)[0] as Bundle)[2] as ImagingStudy;
      assert.equal(imagingStudy.numberOfInstances, 1);
    });

    it('--help documents the default endpoint and exits 0', async () => {
      const result = await map('--help');
      assert.equal(result.code, 0);
      assert.match(result.stdout, /Usage: dicom-cast map <input>/);
      assert.ok(result.stdout.includes(defaultEndpoint));
    });

    const usage: [string, string[], RegExp][] = [
      ['no input', [], /missing <input>/],
      ['an unknown option', ['x.json', '--bogus'], /unknown option --bogus/],
      ['a flag without its value', ['x.json', '--endpoint'], /--endpoint needs a value/],
      ['an endpoint that is not a URL', ['x.json', '--endpoint', 'pacs'], /--endpoint must be an http\(s\) URL/],
      ['two inputs', ['a.json', 'b.json'], /one input only/],
    ];
    for (const [name, args, message] of usage) {
      it(`usage error (${name}): exit 2`, async () => {
        const result = await map(...args);
        assert.equal(result.code, 2);
        assert.match(result.stderr, message);
      });
    }
  });

  describe('unreadable input: exit 1, a message naming the file and the problem, no stack trace', () => {
    const rows: [string, string, string | Buffer | undefined, RegExp][] = [
      ['a missing file', 'missing.json', undefined, /missing\.json: no such file or folder/],
      ['JSON that does not parse', 'broken.json', '{"00080018": ', /broken\.json: not JSON: /],
      [
        'JSON that is not DICOM JSON',
        'fhir.json',
        '{"resourceType": "Patient"}',
        /fhir\.json: not DICOM JSON .*"resourceType" is not a tag/,
      ],
      [
        'an attribute without vr',
        'novr.json',
        '[{"00080018": {"Value": ["1.2"]}}]',
        /novr\.json\[0\]: not DICOM JSON .*00080018 has no "vr"/,
      ],
      ['an empty array', 'empty.json', '[]', /empty\.json: an empty array/],
      ['a text file given as Part-10', 'notes.dcm', 'hello', /notes\.dcm: not a DICOM Part-10 file/],
      ['a truncated Part-10 file', 'truncated.dcm', 'truncate', /truncated\.dcm: unreadable DICOM Part-10 file: /],
    ];
    for (const [name, file, content, message] of rows) {
      it(name, async () => {
        const path = join(dir, file);
        if (content === 'truncate') await writeFile(path, makeInstanceFile(seriesSpec(1, 1)).subarray(0, 400));
        else if (content !== undefined) await writeFile(path, content);
        const result = await map(path);
        assert.equal(result.code, 1);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, message);
        noStackTrace(result.stderr);
      });
    }

    it('a folder with unreadable files names each and prints nothing', async () => {
      const broken = join(dir, 'broken-folder');
      await mkdir(broken, { recursive: true });
      await writeFile(join(broken, 'good.dcm'), makeInstanceFile(seriesSpec(1, 1)));
      await writeFile(join(broken, 'x.json'), '{');
      await writeFile(join(broken, 'y.dcm'), makeInstanceFile(seriesSpec(1, 2)).subarray(0, 300));
      const result = await map(broken);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(
        result.stderr,
        /2 files cannot be read:\n {2}.*x\.json: not JSON.*\n {2}.*y\.dcm: unreadable DICOM Part-10 file/,
      );
    });

    it('nothing mappable (every instance lacks PatientID): exit 1, the instance and the tag named', async () => {
      const path = join(dir, 'no-patient.json');
      const dataset = parseInstance(makeInstanceFile(seriesSpec(1, 1))).dataset;
      delete dataset[Tag.PatientID];
      await writeFile(path, JSON.stringify(dataset));
      const result = await map(path);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /rejected: Instance has no PatientID \(0010,0020\).*instance /);
      assert.match(result.stderr, /nothing to map in .*no-patient\.json/);
    });

    it('through the real entry point too (exit codes, no stack trace)', async () => {
      const missing = await spawnMap(join(dir, 'missing.dcm'));
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /dicom-cast map: .*missing\.dcm: no such file or folder/);
      noStackTrace(missing.stderr);
      const usageError = await spawnMap();
      assert.equal(usageError.code, 2);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Every file Debian's python3-pydicom ships as test data.

const pydicomTestFiles = process.env.PYDICOM_TEST_FILES ?? '/usr/lib/python3/dist-packages/pydicom/data/test_files';

function listFiles(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    });
}

describe('dicom-cast map over pydicom’s test files', () => {
  const present = existsSync(pydicomTestFiles);
  if (!present && process.env.CI === 'true') {
    it('needs python3-pydicom (apt-get install -y python3-pydicom)', () => {
      assert.fail(`${pydicomTestFiles} is missing: CI must install python3-pydicom`);
    });
    return;
  }
  const skip = present ? false : `${pydicomTestFiles} is absent (apt-get install -y python3-pydicom)`;

  it(
    'maps every readable file to a valid Bundle; every other one fails with a message naming it',
    { skip },
    async () => {
      const outcomes = new Map<string, 'mapped' | 'rejected' | 'unreadable'>();
      for (const file of listFiles(pydicomTestFiles)) {
        const name = relative(pydicomTestFiles, file);
        const result = await map(file);
        noStackTrace(result.stderr);
        if (result.code === 0) {
          const bundles = bundlesOf(result.stdout);
          for (const bundle of bundles) assertValid(bundle);
          assert.doesNotMatch(result.stderr, /^invalid:/m, name);
          outcomes.set(name, 'mapped');
          continue;
        }
        assert.equal(result.code, 1, `${name}: ${result.stderr}`);
        assert.equal(result.stdout, '', name);
        // Either the file cannot be read (the message names it), or it holds nothing the writer could map
        // (the instance and the tag are named, then the file).
        if (result.stderr.includes(`nothing to map in ${file}`)) {
          assert.match(result.stderr, /rejected: /, name);
          outcomes.set(name, 'rejected');
        } else {
          assert.ok(result.stderr.startsWith(`dicom-cast map: ${file}: `), `${name}: ${result.stderr}`);
          outcomes.set(name, 'unreadable');
        }
      }
      const count = (what: string) => [...outcomes.values()].filter((outcome) => outcome === what).length;
      console.log(
        `pydicom test files: ${outcomes.size} files, ${count('mapped')} mapped, ${count('rejected')} readable but ` +
          `without what the writer needs, ${count('unreadable')} unreadable`,
      );
      for (const name of ['CT_small.dcm', 'MR_small.dcm', 'MR_small_bigendian.dcm', 'rtplan.dcm', 'test1.json']) {
        assert.equal(outcomes.get(name), 'mapped', name);
      }
      for (const name of [
        'README.txt',
        'zipMR.gz',
        'no_meta.dcm',
        'meta_missing_tsyntax.dcm',
        'rtplan_truncated.dcm',
      ]) {
        assert.equal(outcomes.get(name), 'unreadable', name);
      }
      assert.equal(outcomes.get('test-SR.dcm'), 'rejected', 'an SR without PatientID');
      assert.ok(count('mapped') >= 60, `only ${count('mapped')} files mapped`);
    },
  );

  it('the whole folder at once: fails, naming every unreadable file', { skip }, async () => {
    const result = await map(pydicomTestFiles);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\d+ files cannot be read:\n/);
    assert.ok(result.stderr.includes('meta_missing_tsyntax.dcm'));
    noStackTrace(result.stderr);
  });
});
