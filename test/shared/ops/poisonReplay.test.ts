import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { QueueClient } from '@azure/storage-queue';
import { run as failuresCommand } from '../../../cli/commands/failures.js';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { QueueTriggerHost } from '../../../dev/functionsHost/queueTriggerHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../../dev/samples/index.js';
import { poisonStudies } from '../../../functions/poisonStudies.js';
import { maxDequeueCount } from '../../../shared/handlers/studyMessageHandler.js';
import { readStatus } from '../../../shared/ops/status.js';
import { studyPoisonQueueName, studyQueueName } from '../../../shared/queue/queueNames.js';
import { decodeStudyMessage, encodeStudyMessage } from '../../../shared/queue/studyMessageCodec.js';
import type { StudyMessage } from '../../../shared/queue/studyMessage.js';
import { getRuntime, type Runtime } from '../../../shared/runtime/runtime.js';
import { recordingIo } from '../../support/opsSupport.js';

function spec(name: string): InstanceSpec {
  return {
    studyUid: uid('poison', name),
    seriesUid: uid('poison', name, 'series'),
    sopUid: uid('poison', name, 'sop'),
    patientId: `PID-poison-${name}`,
    patientName: 'Poison^Test',
    modality: 'CT',
  };
}

describe('poison queue, failure records and replay (local stack)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  let poisonHost: QueueTriggerHost;
  let runtime: Runtime;
  let studyQueue: QueueClient;
  let poisonQueue: QueueClient;
  const flaky = spec('flaky');

  before(async () => {
    // No retry budget: a FHIR server answering 503 fails each invocation at once (they are not waited out).
    stack = await startLocalStack({ settings: { DicomCast__RetryBudgetSeconds: '0' } });
    host = new LocalFunctionsHost({ settings: stack.settings, queueOverrides: { visibilityTimeoutMs: 0 } });
    runtime = await getRuntime();
    studyQueue = new QueueClient(stack.storageConnectionString, studyQueueName);
    poisonQueue = new QueueClient(stack.storageConnectionString, studyPoisonQueueName);
    await poisonQueue.createIfNotExists();
    // The poisonStudies function as the host runs it: a queue trigger on the poison queue.
    poisonHost = new QueueTriggerHost({
      functionName: 'poisonStudies',
      queue: poisonQueue,
      poisonQueue: new QueueClient(stack.storageConnectionString, `${studyPoisonQueueName}-poison`),
      settings: host.hostJson.queues,
      handler: poisonStudies,
      log: () => undefined,
    });
  });
  after(async () => {
    await stack.close();
  });

  const recordsOf = async (study: string) => (await runtime.failures.list()).filter((record) => record.study === study);

  it('a message the writer gave up on is recorded once: the poison function finds the writer record', async () => {
    await stack.dicom!.storeFiles([makeInstanceFile(flaky)]);
    stack.fhir!.failNext(1_000, 503);
    await host.runOnce();
    stack.fhir!.failNext(0, 503);
    assert.equal(host.writer.stats.poisoned, 1);
    // The local host runs the poison function in the same cycle, as the Functions host would.
    assert.equal(host.poison.stats.succeeded, 1);
    const records = await recordsOf(flaky.studyUid);
    assert.equal(records.length, 1, 'the writer record only: no double record');
    assert.equal(records[0]?.attempts, maxDequeueCount);
    const status = await readStatus(runtime);
    assert.equal(status.queues.poison, 0, 'the poisoned message became the record');
    assert.equal(status.failures.poisoned, 1);
  });

  it('a poisoned message the writer left no record of (a crash or a timeout) is recorded by the poison function', async () => {
    const orphan: StudyMessage = {
      study: uid('poison', 'orphan'),
      changes: [
        {
          series: uid('poison', 'orphan', 's'),
          sop: uid('poison', 'orphan', 'i'),
          action: 'create',
          sequence: 42,
          state: 'current',
        },
      ],
      maxSequence: 42,
    };
    await poisonQueue.sendMessage(encodeStudyMessage(orphan));
    await poisonQueue.sendMessage(Buffer.from('{"not":"a study message"}').toString('base64'));
    await poisonHost.runUntilIdle();

    const [record] = await recordsOf(orphan.study);
    assert.equal(record?.category, 'transient');
    assert.equal(record?.sequence, 42);
    assert.equal(record?.attempts, maxDequeueCount);
    assert.match(record?.reason ?? '', /poison queue.*no failure record/);
    assert.deepEqual(record?.payload, orphan);
    const unreadable = (await runtime.failures.list()).find((candidate) => /could not be read/.test(candidate.reason));
    assert.equal(unreadable?.category, 'bad-change-feed-entry');
    assert.equal((await readStatus(runtime)).failures.poisoned, 3);

    // The same orphan poisoned again (no replay in between) is not recorded twice.
    await poisonQueue.sendMessage(encodeStudyMessage(orphan));
    await poisonHost.runUntilIdle();
    assert.equal((await recordsOf(orphan.study)).length, 1);
  });

  it('failures list shows what, where, why and how many attempts; --since and --json', async () => {
    const io = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['list'], io), 0);
    assert.match(io.text(), new RegExp(`study ${flaky.studyUid.replaceAll('.', '\\.')}, sequence \\d+, 5 attempts`));
    assert.match(io.text(), /Gave up after 5 attempts; the message goes to the poison queue/);
    assert.match(io.text(), /^3 records\.$/m);

    const future = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['list', '--since', new Date(Date.now() + 60_000).toISOString()], future), 0);
    assert.equal(future.text(), 'No failure records.');

    const json = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['list', '--json', '--limit', '2'], json), 0);
    assert.equal((JSON.parse(json.text()) as unknown[]).length, 2);

    const bad = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['list', '--since', 'yesterday'], bad), 2);
  });

  it('failures replay --id re-enqueues the message and clears the record; the writer then syncs the study', async () => {
    const [record] = await recordsOf(flaky.studyUid);
    const io = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['replay', '--id', record!.id], io), 0);
    assert.match(
      io.text(),
      new RegExp(`^replayed  ${record!.id}  study ${flaky.studyUid.replaceAll('.', '\\.')}`, 'm'),
    );
    assert.equal((await recordsOf(flaky.studyUid)).length, 0);

    const [queued] = (await studyQueue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
    const replayed = decodeStudyMessage(queued!.messageText);
    assert.equal(replayed.study, flaky.studyUid);
    assert.equal(replayed.traceparent, undefined, 'the old trace is not continued');

    await host.writer.runUntilIdle();
    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    assert.ok(studies.some((study) => study.identifier?.[0]?.value === `urn:oid:${flaky.studyUid}`));
  });

  it('a record that holds a bad change-feed row or an unreadable message is kept, with why it cannot be replayed', async () => {
    const row = await runtime.failures.record({
      category: 'bad-change-feed-entry',
      reason: 'Change feed entry sequence 77 skipped: action is missing',
      study: uid('poison', 'badrow'),
      sequence: 77,
      payload: { Sequence: 77, StudyInstanceUid: uid('poison', 'badrow') },
    });
    const io = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['replay', '--id', row.id, '--id', 'no-such-id'], io), 1);
    assert.match(
      io.text(),
      /^kept {6}\S+ {2}The record holds a change-feed row .* cannot|re-enqueuing it as it is would fail/m,
    );
    assert.match(io.text(), new RegExp(`dicom-cast resync --study ${uid('poison', 'badrow').replaceAll('.', '\\.')}`));
    assert.match(io.text(), /^not found no-such-id$/m);
    assert.ok(
      (await runtime.failures.list()).some((record) => record.id === row.id),
      'the record stays',
    );
  });

  it('failures replay --all replays each message once, clears its records, and keeps what cannot be replayed', async () => {
    const twice: StudyMessage = {
      study: stack.dicom!.currentInstances()[0]!.study,
      changes: [],
      maxSequence: 5,
    };
    // Two records of one message (two bad instances of the same study, say).
    await runtime.failures.record({ category: 'bad-dicom-data', reason: 'one', study: twice.study, payload: twice });
    await runtime.failures.record({ category: 'bad-dicom-data', reason: 'two', study: twice.study, payload: twice });
    const before = (await studyQueue.getProperties()).approximateMessagesCount ?? 0;

    const io = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['replay', '--all'], io), 0);
    assert.match(io.text(), /^cleared {3}\S+ {2}same message as \S+$/m);
    assert.match(io.text(), /2 message\(s\) re-enqueued, 3 record\(s\) cleared, 2 kept, 0 not found\./);
    assert.equal(
      (await studyQueue.getProperties()).approximateMessagesCount,
      before + 2,
      'the orphan and the study with two records',
    );
    const left = await runtime.failures.list();
    assert.equal(left.length, 2);
    assert.ok(left.every((record) => record.category === 'bad-change-feed-entry'));

    const removed = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['remove', '--id', left[0]!.id], removed), 0);
    assert.match(removed.text(), /^removed {3}\S+$/m);
    assert.equal((await runtime.failures.list()).length, 1);
    assert.equal(await failuresCommand(['remove', '--id', 'no-such-id'], removed), 1);

    const usage = recordingIo(stack.settings);
    assert.equal(await failuresCommand(['replay'], usage), 2);
    assert.equal(await failuresCommand(['replay', '--all', '--id', 'x'], usage), 2);
  });
});
