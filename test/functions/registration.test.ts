import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { maxDequeueCount } from '../../shared/handlers/studyMessageHandler.js';
import { triggers } from '../../shared/handlers/triggers.js';
import { pollContinuationQueueName, studyPoisonQueueName, studyQueueName } from '../../shared/queue/queueNames.js';

/**
 * What `func start` and Azure read, checked without Core Tools: the worker hands @azure/functions a core API
 * module (`@azure/functions-core`) through which each app.timer/app.storageQueue call registers its function
 * metadata. Giving the library that module here records exactly the bindings the host would index.
 */
interface RegisteredFunction {
  name: string;
  bindings: Record<string, Record<string, unknown>>;
}

const registered: RegisteredFunction[] = [];
const fakeCore = {
  setProgrammingModel: () => undefined,
  registerFunction: (metadata: RegisteredFunction) => {
    registered.push(metadata);
    return { dispose: () => undefined };
  },
};
type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Load };
const originalLoad = moduleWithLoad._load;
moduleWithLoad._load = function (request, parent, isMain) {
  if (request === '@azure/functions-core') return fakeCore;
  return originalLoad.call(this, request, parent, isMain);
};

const root = process.cwd();
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string; type: string };

describe('Functions host indexing', () => {
  /** The functions each compiled entry file registered when the host loaded it. */
  const registeredBy = new Map<string, string[]>();
  before(async () => {
    for (const file of readdirSync(join(root, 'dist', 'functions')).filter((name) => name.endsWith('.js'))) {
      const already = registered.length;
      await import(join(root, 'dist', 'functions', file));
      registeredBy.set(
        file,
        registered.slice(already).map((fn) => fn.name),
      );
    }
  });

  it('package.json main matches the compiled function entry files', () => {
    assert.equal(packageJson.type, 'module');
    assert.equal(packageJson.main, 'dist/functions/*.js');
    const compiled = readdirSync(join(root, 'dist', 'functions')).filter((name) => name.endsWith('.js'));
    const sources = readdirSync(join(root, 'functions')).filter((name) => name.endsWith('.ts'));
    assert.deepEqual(compiled.sort(), sources.map((name) => name.replace(/\.ts$/, '.js')).sort());
  });

  it('registers each function with the trigger configuration the host reads', () => {
    const byName = new Map(registered.map((fn) => [fn.name, fn]));
    assert.deepEqual([...byName.keys()].sort(), [
      'changeFeedContinuation',
      'changeFeedPoller',
      'driftSweep',
      'imagingStudyWriter',
      'poisonStudies',
      'status',
    ]);

    const timer = Object.values(byName.get('changeFeedPoller')!.bindings)[0]!;
    assert.equal(timer.type, 'timerTrigger');
    assert.equal(timer.direction, 'in');
    assert.equal(timer.schedule, '%DicomCast__Schedule%');
    assert.equal(timer.runOnStartup, false);

    const sweep = Object.values(byName.get('driftSweep')!.bindings)[0]!;
    assert.equal(sweep.type, 'timerTrigger');
    assert.equal(sweep.schedule, '%DicomCast__DriftSweep__Schedule%');
    assert.equal(sweep.runOnStartup, false);

    const writer = Object.values(byName.get('imagingStudyWriter')!.bindings)[0]!;
    assert.equal(writer.type, 'queueTrigger');
    assert.equal(writer.queueName, studyQueueName);
    assert.equal(writer.connection, 'AzureWebJobsStorage');

    const continuation = Object.values(byName.get('changeFeedContinuation')!.bindings)[0]!;
    assert.equal(continuation.type, 'queueTrigger');
    assert.equal(continuation.queueName, pollContinuationQueueName);

    const poison = Object.values(byName.get('poisonStudies')!.bindings)[0]!;
    assert.equal(poison.type, 'queueTrigger');
    assert.equal(poison.queueName, studyPoisonQueueName);
    assert.equal(poison.connection, 'AzureWebJobsStorage');

    const status = Object.values(byName.get('status')!.bindings).find((binding) => binding.direction === 'in')!;
    assert.equal(status.type, 'httpTrigger');
    assert.equal(status.authLevel, 'function', 'the status endpoint needs a function key');
    assert.equal(status.route, 'status');
    assert.deepEqual(status.methods, ['GET']);
  });

  it('registers every row of shared/handlers/triggers.ts from functions/<name>.ts, with the row binding', () => {
    assert.deepEqual(
      [...registeredBy].sort(),
      Object.keys(triggers)
        .map((name) => [`${name}.js`, [name]])
        .sort(),
      'one function per entry file, named as the file, one file per row',
    );
    const triggerTypes = { timer: 'timerTrigger', storageQueue: 'queueTrigger', http: 'httpTrigger' };
    for (const [name, row] of Object.entries(triggers)) {
      const binding = Object.values(registered.find((fn) => fn.name === name)!.bindings).find(
        (candidate) => candidate.type === triggerTypes[row.kind],
      );
      assert.ok(binding, `${name} has a ${row.kind} trigger`);
      for (const [key, value] of Object.entries(row.binding)) assert.deepEqual(binding[key], value, `${name}.${key}`);
    }
  });

  it('host.json is valid for the v4 extension bundle and agrees with the code', () => {
    const hostJson = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as {
      version: string;
      extensionBundle: { id: string; version: string };
      functionTimeout: string;
      extensions: { queues: { batchSize: number; maxDequeueCount: number; messageEncoding: string } };
    };
    assert.equal(hostJson.version, '2.0');
    assert.equal(hostJson.extensionBundle.id, 'Microsoft.Azure.Functions.ExtensionBundle');
    assert.match(hostJson.extensionBundle.version, /^\[4\.\*, 5\.0\.0\)$/);
    assert.match(hostJson.functionTimeout, /^\d{2}:\d{2}:\d{2}$/);
    const queues = hostJson.extensions.queues;
    assert.ok(queues.batchSize >= 1 && queues.batchSize <= 32);
    assert.equal(queues.maxDequeueCount, maxDequeueCount, 'the writer records the last attempt before poison');
    assert.equal(queues.messageEncoding, 'base64', 'the poller base64-encodes what it enqueues');
  });

  it('local.settings.json.example sets the binding expressions the host resolves at indexing', () => {
    const example = JSON.parse(readFileSync(join(root, 'local.settings.json.example'), 'utf8')) as {
      Values: Record<string, string>;
    };
    assert.equal(example.Values.FUNCTIONS_WORKER_RUNTIME, 'node');
    assert.ok(example.Values.DicomCast__Schedule, 'the timer binding reads %DicomCast__Schedule%');
    assert.ok(
      example.Values.DicomCast__DriftSweep__Schedule,
      'the sweep binding reads %DicomCast__DriftSweep__Schedule%',
    );
    assert.ok(example.Values.AzureWebJobsStorage);
  });

  it('.funcignore keeps secrets and non-runtime folders out of the deployment package', () => {
    const ignored = readFileSync(join(root, '.funcignore'), 'utf8').split('\n');
    for (const entry of ['local.settings.json', 'test', 'dist/test', 'dist/dev'])
      assert.ok(ignored.includes(entry), entry);
    assert.ok(!ignored.includes('dist'), 'the compiled app must be deployed');
  });
});
