import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import azureFunctions from '@azure/functions';
import { run as statusCommand } from '../../../cli/commands/status.js';
import { createInvocationContext } from '../../../dev/functionsHost/invocationContext.js';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../../dev/samples/index.js';
import { status as statusFunction } from '../../../functions/status.js';
import { readStatus, type SyncStatus } from '../../../shared/ops/status.js';
import { getRuntime, type Runtime } from '../../../shared/runtime/runtime.js';
import { createFailureStore } from '../../../shared/state/failureStore.js';
import { createTableClient } from '../../../shared/state/storageClients.js';
import { recordingIo } from '../../support/opsSupport.js';

const { HttpRequest } = azureFunctions;

function spec(name: string, instance = 1): InstanceSpec {
  return {
    studyUid: uid('status', name),
    seriesUid: uid('status', name, 'series'),
    sopUid: uid('status', name, 'sop', instance),
    patientId: `PID-status-${name}`,
    patientName: 'Status^Test',
    modality: 'MR',
  };
}

describe('status: GET /api/status, dicom-cast status (local stack)', () => {
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  let runtime: Runtime;

  before(async () => {
    stack = await startLocalStack();
    host = new LocalFunctionsHost({ settings: stack.settings });
    runtime = await getRuntime();
  });
  after(async () => {
    await stack.close();
  });

  it('before the first poll: no checkpoint, an empty feed, empty queues', async () => {
    const status = await readStatus(runtime);
    assert.equal(status.changeFeed.checkpoint, undefined);
    assert.equal(status.changeFeed.latest, undefined);
    assert.deepEqual(status.changeFeed.lag, { sequences: 0, seconds: 0 });
    assert.deepEqual(status.queues, { studies: 0, poison: 0, continuation: 0 });
    assert.equal(status.failures.total, 0);
  });

  it('after a poll: the checkpoint at the newest entry, one message per study waiting', async () => {
    await stack.dicom!.storeFiles([spec('a', 1), spec('a', 2), spec('b'), spec('c')].map(makeInstanceFile));
    await host.timer.fire();
    const status = await readStatus(runtime);
    assert.equal(status.changeFeed.version, 'v2');
    assert.equal(status.changeFeed.checkpoint?.sequence, 4);
    assert.equal(status.changeFeed.latest?.sequence, 4);
    assert.match(status.changeFeed.latest?.timestamp ?? '', /^\d{4}-\d{2}-\d{2}T/);
    assert.deepEqual(status.changeFeed.lag, { sequences: 0, seconds: 0 });
    assert.equal(status.queues.studies, 3);
  });

  it('with changes not yet polled: the lag in entries and in seconds of feed time', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await stack.dicom!.storeFiles([spec('d'), spec('e')].map(makeInstanceFile));
    const status = await readStatus(runtime);
    assert.equal(status.changeFeed.checkpoint?.sequence, 4);
    assert.equal(status.changeFeed.latest?.sequence, 6);
    assert.equal(status.changeFeed.lag.sequences, 2);
    assert.ok((status.changeFeed.lag.seconds ?? 0) >= 1, `lag ${status.changeFeed.lag.seconds} s`);
    await host.runOnce();
    const caughtUp = await readStatus(runtime);
    assert.deepEqual(caughtUp.changeFeed.lag, { sequences: 0, seconds: 0 });
    assert.equal(caughtUp.queues.studies, 0);
  });

  it('counts the failures of the last 24 hours by category, and those that went to the poison queue', async () => {
    const table = await createTableClient(runtime.config.storage, runtime.config.dicomCast.failureTable);
    const old = createFailureStore(table, () => Date.now() - 25 * 3_600_000);
    await old.record({ category: 'fhir-rejected', reason: 'a day old', study: '1.2.3' });
    await runtime.failures.record({ category: 'bad-dicom-data', reason: 'no PatientID', study: '1.2.4' });
    await runtime.failures.record({ category: 'bad-dicom-data', reason: 'no SOPInstanceUID', study: '1.2.5' });
    await runtime.failures.record({
      category: 'transient',
      reason: 'Gave up after 5 attempts; the message goes to the poison queue: FHIR answered 503',
      study: '1.2.6',
      sequence: 9,
      attempts: 5,
    });
    const status = await readStatus(runtime);
    assert.equal(status.failures.total, 3);
    assert.deepEqual(status.failures.byCategory, { 'bad-dicom-data': 2, transient: 1 });
    assert.equal(status.failures.poisoned, 1);
    assert.equal(status.failures.complete, true);
    const capped = await readStatus(runtime, { maxFailures: 2 });
    assert.equal(capped.failures.total, 2);
    assert.equal(capped.failures.complete, false);
  });

  it('GET /api/status answers the same figures as JSON', async () => {
    const response = await statusFunction(
      new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/status' }),
      createInvocationContext('status', {}, () => undefined),
    );
    assert.equal(response.status, 200);
    const body = response.jsonBody as SyncStatus;
    const expected = await readStatus(runtime);
    assert.deepEqual(body.changeFeed, expected.changeFeed);
    assert.deepEqual(body.queues, expected.queues);
    assert.deepEqual(body.failures.byCategory, expected.failures.byCategory);
    assert.equal(body.failures.poisoned, 1);
  });

  it('dicom-cast status prints them for a person, or as JSON with --json', async () => {
    const io = recordingIo(stack.settings);
    assert.equal(await statusCommand([], io), 0);
    const text = io.text();
    assert.match(text, /^Checkpoint\s+sequence 6 \(v2, /m);
    assert.match(text, /^Latest entry\s+sequence 6 at /m);
    assert.match(text, /^Lag\s+caught up$/m);
    assert.match(text, /^Queues\s+studies 0, poison 0, continuation 0/m);
    assert.match(text, /Failures since .*3 \(bad-dicom-data 2, transient 1\); 1 gave up and went to the poison queue/);

    const json = recordingIo(stack.settings);
    assert.equal(await statusCommand(['--json'], json), 0);
    const parsed = JSON.parse(json.text()) as SyncStatus;
    assert.equal(parsed.changeFeed.checkpoint?.sequence, 6);

    const wrong = recordingIo(stack.settings);
    assert.equal(await statusCommand(['--nope'], wrong), 2);
  });
});
