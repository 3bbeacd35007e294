import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { startDicomServer, type RunningDicomServer } from '../../dev/dicom-server/index.js';
import { startFhirServer, type RunningFhirServer } from '../../dev/fhir-server/index.js';

function runLocal(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/dev/local.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run local', () => {
  it('--once syncs sample studies on the embedded stack and prints a non-empty summary', async () => {
    const { code, stdout, stderr } = await runLocal(['--once', '--studies', '2']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Stored 12 sample instances in 2 studies/);
    assert.match(stdout, /Synced 2 of 2 studies: 4 series, 12 instances/);
    assert.match(stdout, /http:\/\/127\.0\.0\.1:\d+\/fhir\/ImagingStudy\/[\w-]+/);
    assert.doesNotMatch(stdout + stderr, /test mode/);
  });

  it('--fhir-profile azure: the embedded FHIR server behaves like the AHDS FHIR service; an unknown one is refused', async () => {
    const { code, stdout, stderr } = await runLocal(['--once', '--studies', '1', '--fhir-profile', 'azure']);
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /FHIR server +http:\/\/127\.0\.0\.1:\d+\/fhir \(embedded, @medplum\/fhir-router, profile azure\)/,
    );
    assert.match(stdout, /Synced 1 of 1 studies/);
    const refused = await runLocal(['--once', '--fhir-profile', 'cosmos']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--fhir-profile must be one of medplum, azure, hapi, got "cosmos"/);
    const badRate = await runLocal(['--once', '--fhir-throttle', '2']);
    assert.equal(badRate.code, 2);
    assert.match(badRate.stderr, /--fhir-throttle must be a fraction between 0 and 1, got "2"/);
  });

  describe('with --dicom-url and --fhir-url', () => {
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

    it('uses the given servers instead of the embedded ones', async () => {
      const { code, stdout, stderr } = await runLocal([
        '--once',
        '--studies',
        '1',
        '--dicom-url',
        dicom.url,
        '--fhir-url',
        fhir.url,
      ]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`DICOM server +${dicom.url}\\n`));
      assert.match(stdout, /Synced 1 of 1 studies/);
      assert.equal(dicom.currentInstances().length, 6, 'the samples went to the given DICOM server');
      assert.equal((await fhir.all<ImagingStudy>('ImagingStudy')).length, 1, 'and the result to the given FHIR server');
    });
  });
});
