import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { run as verifyCommand } from '../../../cli/commands/verify.js';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../../dev/samples/index.js';
import { differences } from '../../support/convergence.js';
import { recordingIo } from '../../support/opsSupport.js';

function spec(index: number, instance: number): InstanceSpec {
  return {
    studyUid: uid('verify', index),
    seriesUid: uid('verify', index, 'series'),
    sopUid: uid('verify', index, 'sop', instance),
    patientId: `PID-verify-${index}`,
    patientName: 'Verify^Test',
    modality: 'CT',
    instanceNumber: instance,
    studyDate: index < 4 ? '20240110' : '20240620',
  };
}

/** `dicom-cast verify` on the local stack (the Azure DICOM service stand-in): drifts made by hand, found, repaired. */
describe('verify (local stack)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  const studies = [0, 1, 2, 3, 4].map((index) => uid('verify', index));

  const fhirRequest = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.fhirUrl}/${path}`, {
      method,
      headers: { 'Content-Type': 'application/fhir+json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.text()}`);
  };
  const imagingStudyOf = async (study: string) =>
    (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find((s) => s.identifier?.[0]?.value === `urn:oid:${study}`)!;

  before(async () => {
    stack = await startLocalStack();
    host = new LocalFunctionsHost({ settings: stack.settings });
    await stack.dicom!.storeFiles(
      [0, 1, 2, 3, 4].flatMap((index) => [spec(index, 1), spec(index, 2), spec(index, 3)]).map(makeInstanceFile),
    );
    await host.runOnce();
    assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
  });
  after(async () => {
    await stack.close();
  });

  it('says in sync (exit 0) when FHIR matches the archive', async () => {
    const io = recordingIo(stack.settings);
    assert.equal(await verifyCommand([], io), 0, io.text());
    assert.match(io.text(), /5 studies in the archive, 5 ImagingStudies in FHIR .*in sync/);
  });

  it('finds each kind of drift, prints it, and --repair makes the writer fix it', async () => {
    // Drift by hand, behind the app's back: an ImagingStudy deleted, an instance dropped from one, a subject
    // pointed at another Patient, and a study deleted from the archive whose change the poller never reads.
    const gone = await imagingStudyOf(studies[0]!);
    await fhirRequest('DELETE', `ImagingStudy/${gone.id}`);
    const thinned = await imagingStudyOf(studies[1]!);
    const dropped = thinned.series![0]!.instance!.pop()!;
    thinned.numberOfInstances = 2;
    thinned.series![0]!.numberOfInstances = 2;
    await fhirRequest('PUT', `ImagingStudy/${thinned.id}`, thinned);
    const patients = await stack.fhir!.all<Patient>('Patient');
    const other = patients.find((patient) => patient.identifier?.[0]?.value === 'PID-verify-3')!;
    const moved = await imagingStudyOf(studies[2]!);
    await fhirRequest('PUT', `ImagingStudy/${moved.id}`, { ...moved, subject: { reference: `Patient/${other.id}` } });
    const orphan = await imagingStudyOf(studies[4]!);
    await stack.dicom!.deleteStudy(studies[4]!);

    const found = recordingIo(stack.settings);
    assert.equal(await verifyCommand([], found), 1, found.text());
    const text = found.text();
    assert.match(
      text,
      new RegExp(`MISSING IN FHIR .*study ${studies[0]}: in the archive \\(3 instances\\), no ImagingStudy`),
    );
    assert.match(
      text,
      new RegExp(
        `INSTANCES DIFFER .*study ${studies[1]}: 3 instances in the archive, 2 in FHIR \\(only in the archive: ${dropped.uid}\\)`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `SUBJECT DIFFERS .*study ${studies[2]}: subject is Patient/${other.id} .*PID-verify-3, the data names Patient PID-verify-2`,
      ),
    );
    assert.match(
      text,
      new RegExp(`NOT IN ARCHIVE .*study ${studies[4]}: ImagingStudy/${orphan.id} has no study behind it`),
    );
    assert.match(text, /4 difference\(s\) in 4 studies\. Run with --repair/);

    const json = recordingIo(stack.settings);
    assert.equal(await verifyCommand(['--json', '--study', studies[1]!], json), 1);
    const parsed = JSON.parse(json.text()) as {
      inSync: boolean;
      differences: { kind: string; onlyInArchive: string[] }[];
    };
    assert.equal(parsed.inSync, false);
    assert.deepEqual(
      parsed.differences.map((d) => [d.kind, d.onlyInArchive]),
      [['instances-differ', [dropped.uid]]],
    );

    const since = recordingIo(stack.settings);
    assert.equal(await verifyCommand(['--since', '2024-06-01'], since), 1, since.text());
    assert.match(since.text(), /NOT IN ARCHIVE .*1 difference\(s\) in 1 studies/s);

    const repair = recordingIo(stack.settings);
    assert.equal(await verifyCommand(['--repair'], repair), 1);
    assert.match(repair.text(), /Enqueued 4 reconcile message\(s\)/);
    await host.writer.runUntilIdle();
    const after = recordingIo(stack.settings);
    assert.equal(await verifyCommand([], after), 0, after.text());
    assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
  });

  it('refuses --study with --since (exit 2)', async () => {
    const io = recordingIo(stack.settings);
    assert.equal(await verifyCommand(['--study', '1.2.3', '--since', '2024-01-01'], io), 2);
    assert.match(io.errors.join('\n'), /--study or --since, not both/);
  });
});
