import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { startOrthanc, type RunningOrthanc } from '../../../dev/orthanc.js';
import { readStatus } from '../../../shared/ops/status.js';
import { getRuntime } from '../../../shared/runtime/runtime.js';
import { run as verifyCommand } from '../../../cli/commands/verify.js';
import { differences } from '../../support/convergence.js';
import { recordingIo } from '../../support/opsSupport.js';
import {
  orthancIdOf,
  orthancInstances,
  orthancRest,
  orthancSkipReason,
  pydicomFile,
  stowToOrthanc,
} from '../../support/orthancArchive.js';

/**
 * The pipeline on a real Orthanc (Debian's orthanc + orthanc-dicomweb, HTTP Basic on): its /changes log is the change
 * source, its DICOMweb plugin what the writer reads. After each operation, the next poll plus one drift sweep leaves
 * FHIR equal to Orthanc (the invariant test's check).
 */
const skip = orthancSkipReason();
const ctUid = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';
const mrUid = '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457';

describe('sync from a real Orthanc', { skip }, () => {
  let orthanc: RunningOrthanc;
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  const logs: string[] = [];

  /** The next poll, its study messages, then one sweep and the resyncs it enqueued. */
  const pollAndSweep = async () => {
    await host.runOnce();
    await host.sweep.fire();
    await host.writer.runUntilIdle();
  };
  const inSync = async () =>
    assert.deepEqual(await differences({ currentInstances: () => orthancInstances(orthanc) }, stack.fhir!), []);

  before(async () => {
    orthanc = await startOrthanc();
    stack = await startLocalStack({
      dicomUrl: orthanc.dicomWebUrl,
      settings: {
        DicomWeb__Source: 'orthanc',
        DicomWeb__ChangeFeed__PageSize: '7',
        DicomWeb__Authentication__Enabled: 'true',
        DicomWeb__Authentication__AuthenticationType: 'Basic',
        DicomWeb__Authentication__Basic__Username: orthanc.username,
        DicomWeb__Authentication__Basic__Password: orthanc.password,
        DicomCast__DriftSweep__PageSize: '2',
      },
    });
    host = new LocalFunctionsHost({
      settings: stack.settings,
      log: (_level, _fn, ...args) => logs.push(args.map(String).join(' ')),
    });
  });
  after(async () => {
    await stack?.close();
    await orthanc?.close();
  });

  it('syncs real files stored by STOW-RS', async () => {
    await stowToOrthanc(orthanc, ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm'].map(pydicomFile));
    await host.runOnce();
    await inSync();
    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.equal(studies.length, 3);
    assert.ok(studies.every((study) => study.meta?.source === orthanc.dicomWebUrl));
    const status = await readStatus(await getRuntime());
    assert.equal(status.changeFeed.lag.sequences, 0, "status reads the lag from Orthanc's change log");
    assert.equal(status.changeFeed.latest?.sequence, status.changeFeed.checkpoint?.sequence);
  });

  it('adds instances to a study that is already stable', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2500)); // Orthanc's StableAge is 2 s here
    const ctInstance = await orthancIdOf(orthanc, ctUid, 'Study').then(async (id) => {
      const { json } = await orthancRest(orthanc, 'GET', `/studies/${id}/instances`);
      return (json as { ID: string }[])[0]!.ID;
    });
    const copies: Buffer[] = [];
    for (const suffix of ['1', '2']) {
      const { status, bytes } = await orthancRest(orthanc, 'POST', `/instances/${ctInstance}/modify`, {
        Replace: { SOPInstanceUID: `1.2.826.0.1.3680043.10.1082.${Date.now()}.${suffix}` },
        Force: true,
      });
      assert.equal(status, 200);
      copies.push(bytes);
    }
    await stowToOrthanc(orthanc, copies);
    await pollAndSweep();
    await inSync();
    const ct = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
      (s) => s.identifier?.[0]?.value === `urn:oid:${ctUid}`,
    );
    assert.equal(ct?.numberOfInstances, 3);
  });

  it('follows a re-store with overwrite and a PatientName changed keeping the UIDs', async () => {
    await stowToOrthanc(orthanc, [pydicomFile('MR_small.dcm')]);
    const mrId = await orthancIdOf(orthanc, mrUid, 'Study');
    const modified = await orthancRest(orthanc, 'POST', `/studies/${mrId}/modify`, {
      Replace: { PatientName: 'Renamed^Patient' },
      Keep: ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'],
      Force: true,
      Synchronous: true,
    });
    assert.equal(modified.status, 200, modified.bytes.toString());
    await pollAndSweep();
    await inSync();
    const patients = await stack.fhir!.all<Patient>('Patient');
    assert.ok(
      patients.some((patient) => patient.name?.some((name) => name.family === 'Renamed')),
      JSON.stringify(patients.map((p) => p.name)),
    );
  });

  it('finds deleted instances, series and studies with the sweep (Orthanc never logs deletions)', async () => {
    await stowToOrthanc(orthanc, ['rtdose.dcm', 'rtstruct.dcm', 'waveform_ecg.dcm'].map(pydicomFile));
    await host.runOnce();
    await inSync();
    // Let every study go stable and read those rows, so no later Stable* row makes the poll look at them again.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await host.runOnce();
    const ctId = await orthancIdOf(orthanc, ctUid, 'Study');
    const ctInstances = (await orthancRest(orthanc, 'GET', `/studies/${ctId}/instances`)).json as { ID: string }[];
    assert.equal((await orthancRest(orthanc, 'DELETE', `/instances/${ctInstances[0]!.ID}`)).status, 200);
    const mrSeries = (
      await orthancRest(orthanc, 'GET', `/studies/${await orthancIdOf(orthanc, mrUid, 'Study')}/series`)
    ).json as { ID: string }[];
    assert.equal((await orthancRest(orthanc, 'DELETE', `/series/${mrSeries[0]!.ID}`)).status, 200);
    const planId = (await orthancRest(orthanc, 'GET', '/studies')).json as string[];
    const plan = await orthancIdOf(orthanc, '1.22.333.4.555555.6.7777777777777777777777777777', 'Study').catch(
      () => planId[0]!,
    );
    assert.equal((await orthancRest(orthanc, 'DELETE', `/studies/${plan}`)).status, 200);

    await host.runOnce();
    assert.notDeepEqual(
      await differences({ currentInstances: () => orthancInstances(orthanc) }, stack.fhir!),
      [],
      'the poll alone cannot see deletions',
    );
    await pollAndSweep();
    await inSync();
  });

  it('does not wait for StableStudy: a restart in the middle of a study loses nothing', async () => {
    const seriesBefore = await orthancInstances(orthanc);
    await stowToOrthanc(orthanc, [pydicomFile('JPEG2000.dcm')]);
    await orthanc.restart();
    await stowToOrthanc(orthanc, [pydicomFile('liver_1frame.dcm')]);
    await pollAndSweep();
    await inSync();
    assert.ok((await orthancInstances(orthanc)).length > seriesBefore.length);
  });

  it('takes a change log that went back as a wiped database: a full resync, said loudly', async () => {
    await orthanc.wipe();
    await stowToOrthanc(orthanc, [pydicomFile('CT_small.dcm')]);
    logs.length = 0;
    await host.runOnce(); // the poll alone: no sweep needed to drop the studies the wipe took
    await inSync();
    assert.ok(
      logs.some((line) => /database was wiped or replaced/.test(line)),
      logs.join('\n'),
    );
    const runtime = await getRuntime();
    assert.equal(
      (await runtime.checkpoints.read())?.checkpoint.sequence,
      (await runtime.orthanc!.client.lastChange())?.seq,
    );
  });

  it('verify finds a drift made by hand on either side, and --repair fixes it', async () => {
    await stowToOrthanc(orthanc, [pydicomFile('MR_small.dcm'), pydicomFile('rtplan.dcm')]);
    await host.runOnce();
    const inOrder = recordingIo(stack.settings);
    assert.equal(await verifyCommand([], inOrder), 0, inOrder.text());

    const mr = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
      (s) => s.identifier?.[0]?.value === `urn:oid:${mrUid}`,
    )!;
    const deleted = await fetch(`${stack.fhirUrl}/ImagingStudy/${mr.id}`, { method: 'DELETE' });
    assert.ok(deleted.ok);
    const ct = await orthancIdOf(orthanc, ctUid, 'Study');
    assert.equal((await orthancRest(orthanc, 'DELETE', `/studies/${ct}`)).status, 200);

    const found = recordingIo(stack.settings);
    assert.equal(await verifyCommand(['--repair'], found), 1, found.text());
    assert.match(found.text(), new RegExp(`MISSING IN FHIR .*study ${mrUid}: in the archive \\(1 instances\\)`));
    assert.match(found.text(), new RegExp(`NOT IN ARCHIVE .*study ${ctUid}: ImagingStudy/\\S+ has no study behind it`));
    assert.match(found.text(), /Enqueued 2 reconcile message/);
    await host.writer.runUntilIdle();
    const repaired = recordingIo(stack.settings);
    assert.equal(await verifyCommand([], repaired), 0, repaired.text());
    await inSync();
  });
});
