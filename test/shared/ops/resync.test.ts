import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { QueueClient } from '@azure/storage-queue';
import { run as resyncCommand } from '../../../cli/commands/resync.js';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../../dev/samples/index.js';
import { createResyncCursorStore, dicomDateOf } from '../../../shared/ops/resync.js';
import { studyQueueName } from '../../../shared/queue/queueNames.js';
import { decodeStudyMessage } from '../../../shared/queue/studyMessageCodec.js';
import { getRuntime, type Runtime } from '../../../shared/runtime/runtime.js';
import { differences } from '../../support/convergence.js';
import { recordingIo } from '../../support/opsSupport.js';

function spec(index: number, instance: number, studyDate: string): InstanceSpec {
  return {
    studyUid: uid('resync', index),
    seriesUid: uid('resync', index, 'series'),
    sopUid: uid('resync', index, 'sop', instance),
    patientId: `PID-resync-${index % 3}`,
    patientName: 'Resync^Test',
    modality: index % 2 === 0 ? 'CT' : 'MR',
    instanceNumber: instance,
    studyDate,
  };
}

const identifierOf = (study: string) => `urn:oid:${study}`;

describe('resync (local stack)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  let runtime: Runtime;
  let queue: QueueClient;
  const early = [0, 1, 2, 3, 4].map((index) => uid('resync', index));
  const late = [5, 6].map((index) => uid('resync', index));

  before(async () => {
    stack = await startLocalStack();
    host = new LocalFunctionsHost({ settings: stack.settings });
    runtime = await getRuntime();
    queue = new QueueClient(stack.storageConnectionString, studyQueueName);
    const specs = [
      ...[0, 1, 2, 3, 4].flatMap((index) => [spec(index, 1, '20240110'), spec(index, 2, '20240110')]),
      ...[5, 6].map((index) => spec(index, 1, '20240620')),
    ];
    await stack.dicom!.storeFiles(specs.map(makeInstanceFile));
    await host.runOnce();
    assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
  });
  after(async () => {
    await stack.close();
  });

  const queued = async () => (await queue.getProperties()).approximateMessagesCount ?? 0;

  it('resync --all after the FHIR server lost its data restores every ImagingStudy, resuming a stopped walk', async () => {
    await stack.fhir!.reset();
    assert.equal((await stack.fhir!.all('ImagingStudy')).length, 0);

    // A first run stopped after one page of 3 studies: the cursor stays in the checkpoint table.
    const first = recordingIo(stack.settings);
    assert.equal(await resyncCommand(['--all', '--page-size', '3', '--max-pages', '1'], first), 0);
    assert.match(first.text(), /Stopped at offset 3 after 3 studies; run the same command again to resume\./);
    assert.equal(await queued(), 3);
    const cursors = createResyncCursorStore(runtime.checkpointTable, runtime.config.dicomWeb.endpoint);
    assert.equal((await cursors.read())?.offset, 3);

    // The same command again resumes there and walks to the end.
    const second = recordingIo(stack.settings);
    assert.equal(await resyncCommand(['--all', '--page-size', '3'], second), 0);
    assert.match(second.text(), /Resumed a stopped resync at offset 3\./);
    assert.match(second.text(), /Enqueued reconcile messages for 7 studies \(2 page\(s\) read this run\)\./);
    assert.equal(await cursors.read(), undefined, 'the cursor is removed once the walk is complete');
    assert.equal(await queued(), 7);

    const [peeked] = (await queue.peekMessages({ numberOfMessages: 1 })).peekedMessageItems;
    const message = decodeStudyMessage(peeked!.messageText);
    assert.deepEqual(message.changes, [], 'a reconcile message lists no changes');

    await host.writer.runUntilIdle();
    assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.deepEqual(
      studies.map((study) => study.identifier?.[0]?.value).sort(),
      [...early, ...late].map(identifierOf).sort(),
    );
    assert.ok(
      studies.every(
        (study) => study.numberOfInstances === (late.includes(study.identifier![0]!.value!.slice(8)) ? 1 : 2),
      ),
    );
  });

  it('resync --all --since enqueues only the studies of that date range (QIDO StudyDate)', async () => {
    await stack.fhir!.reset();
    const io = recordingIo(stack.settings);
    assert.equal(await resyncCommand(['--all', '--since', '2024-06-01'], io), 0);
    assert.match(io.text(), /for 2 studies/);
    await host.writer.runUntilIdle();
    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.deepEqual(studies.map((study) => study.identifier?.[0]?.value).sort(), late.map(identifierOf).sort());
  });

  it('resync --study reconciles one study from the DICOM server: a message with no changes creates, updates or deletes', async () => {
    const one = early[0]!;
    const io = recordingIo(stack.settings);
    assert.equal(await resyncCommand(['--study', one], io), 0);
    assert.match(io.text(), /Enqueued a reconcile message for study/);
    await host.writer.runUntilIdle();
    const created = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
      (study) => study.identifier?.[0]?.value === identifierOf(one),
    );
    assert.equal(created?.numberOfInstances, 2);

    // The study loses an instance on the DICOM server; nothing polls the feed, a resync alone brings FHIR in line.
    const victim = stack.dicom!.currentInstances().find((instance) => instance.study === one)!;
    await stack.dicom!.deleteInstance(victim.study, victim.series, victim.sop);
    assert.equal(await resyncCommand(['--study', one], recordingIo(stack.settings)), 0);
    await host.writer.runUntilIdle();
    const updated = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
      (study) => study.identifier?.[0]?.value === identifierOf(one),
    );
    assert.equal(updated?.numberOfInstances, 1);

    // The study is deleted on the DICOM server: the resync removes the ImagingStudy this app owns.
    await stack.dicom!.deleteStudy(one);
    assert.equal(await resyncCommand(['--study', one], recordingIo(stack.settings)), 0);
    await host.writer.runUntilIdle();
    const gone = (await stack.fhir!.all<ImagingStudy>('ImagingStudy')).find(
      (study) => study.identifier?.[0]?.value === identifierOf(one),
    );
    assert.equal(gone, undefined);
  });

  it('draws a progress bar on stderr when it is a terminal, and nothing otherwise', async () => {
    const quiet = recordingIo(stack.settings);
    const drawn: string[] = [];
    assert.equal(await resyncCommand(['--all', '--page-size', '2'], quiet), 0);
    const terminal = { ...recordingIo(stack.settings), errIsTTY: true, progress: (text: string) => drawn.push(text) };
    assert.equal(await resyncCommand(['--all', '--page-size', '2'], terminal), 0);
    assert.ok(
      drawn.some((line) => /^\[[ #]{20}\] \d+ studies enqueued \(\d+\.\d\/s\)$/.test(line)),
      drawn.join('\n'),
    );
    assert.equal(drawn.at(-1), '', 'the progress line is cleared at the end');
    await host.writer.runUntilIdle();
  });

  it('refuses unclear arguments', async () => {
    const io = recordingIo(stack.settings);
    assert.equal(await resyncCommand([], io), 2);
    assert.equal(await resyncCommand(['--all', '--study', '1.2.3'], io), 2);
    assert.equal(await resyncCommand(['--all', '--since', 'last week'], io), 2);
    assert.equal(await resyncCommand(['--all', '--page-size', '500'], io), 2);
    assert.match(io.errors.join('\n'), /Usage:/);
    assert.equal(dicomDateOf('2024-03-01T10:00:00Z'), '20240301');
    assert.equal(dicomDateOf('20240301'), '20240301');
  });
});
