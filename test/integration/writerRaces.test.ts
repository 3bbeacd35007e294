import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../dev/samples/index.js';
import { handleStudyMessage } from '../../shared/handlers/studyMessageHandler.js';
import type { InstanceChange, StudyMessage } from '../../shared/queue/studyMessage.js';
import { encodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import { getRuntime } from '../../shared/runtime/runtime.js';

/**
 * Two writers of one study, one of them working from a DICOM read that another writer's FHIR write overtakes,
 * made deterministic by holding the DICOM metadata responses (the response is computed when asked, sent later).
 * The loser must retry and must not be recorded as a failure: its conflict is the race working as designed.
 */
describe('writers racing on one study', () => {
  let stack: LocalStack;
  /** Holds for the next metadata responses, in request order; each request also resolves its waiter. */
  const holds: number[] = [];
  const metadataRequested: (() => void)[] = [];

  before(async () => {
    stack = await startLocalStack({
      dicomOptions: {
        responseDelayMs: (path) => {
          if (!path.endsWith('/metadata')) return 0;
          metadataRequested.shift()?.();
          return holds.shift() ?? 0;
        },
      },
    });
    new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  /** Resolves when the next metadata request reaches the DICOM server. */
  const nextMetadataRequest = () => new Promise<void>((resolve) => metadataRequested.push(resolve));

  const spec = (name: string, n: number): InstanceSpec => ({
    studyUid: uid('race', name, 'study'),
    seriesUid: uid('race', name, 'series'),
    sopUid: uid('race', name, 'sop', n),
    patientId: `RACE-${name}`,
    patientName: 'Race^Test',
    modality: 'CT',
    instanceNumber: n,
  });
  const change = (name: string, n: number, sequence: number, action: InstanceChange['action'] = 'create') => ({
    series: uid('race', name, 'series'),
    sop: uid('race', name, 'sop', n),
    action,
    sequence,
    state: action === 'delete' ? ('deleted' as const) : ('current' as const),
  });
  const message = (name: string, ...changes: InstanceChange[]): StudyMessage => ({
    study: uid('race', name, 'study'),
    maxSequence: Math.max(...changes.map((c) => c.sequence)),
    changes,
  });
  /** The writer's handler as the host calls it (first delivery), with the queue item as the host passes it. */
  const deliver = async (studyMessage: StudyMessage) => {
    const body = JSON.parse(Buffer.from(encodeStudyMessage(studyMessage), 'base64').toString('utf8')) as unknown;
    return handleStudyMessage(await getRuntime(), body, 1, () => undefined);
  };
  const instancesOf = async (name: string) => {
    const studies = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    const study = studies.find((s) => s.identifier?.[0]?.value === `urn:oid:${uid('race', name, 'study')}`);
    return study?.series?.flatMap((s) => s.instance?.map((instance) => instance.uid) ?? []).sort();
  };
  const failuresOf = async (name: string) =>
    (await (await getRuntime()).failures.list()).filter((f) => f.study === uid('race', name, 'study'));
  const sops = (name: string, ...ns: number[]) => ns.map((n) => uid('race', name, 'sop', n)).sort();

  it('a conditional create answered 200 (another writer created the study first) is retried, not taken as ours', async () => {
    const dicom = stack.dicom!;
    await dicom.storeFiles([makeInstanceFile(spec('create', 1))]);

    // First writer: reads FHIR (nothing), then DICOM ({1}), held briefly.
    holds.push(300, 3000);
    const firstRequested = nextMetadataRequest();
    const first = deliver(message('create', change('create', 1, 1)));
    await firstRequested;
    // Second writer: reads FHIR (still nothing), then DICOM ({1, 2}), held until the first has written.
    await dicom.storeFiles([makeInstanceFile(spec('create', 2))]);
    const secondRequested = nextMetadataRequest();
    let secondDone = false;
    const second = deliver(message('create', change('create', 2, 2))).finally(() => {
      secondDone = true;
    });
    await secondRequested;

    const firstResult = await first;
    assert.equal(firstResult?.outcome, 'created');
    assert.equal(secondDone, false, 'the race happened: the first writer created the study before the second wrote');
    assert.deepEqual(await instancesOf('create'), sops('create', 1));

    // The second writer's conditional create finds the first writer's ImagingStudy (200): its {1, 2} was not written.
    const secondResult = await second;
    assert.equal(secondResult?.outcome, 'updated', 'retried against the study the other writer created');
    assert.equal(secondResult?.attempts, 2);
    assert.deepEqual(await instancesOf('create'), sops('create', 1, 2));
    assert.equal((await stack.fhir!.all<ImagingStudy>('ImagingStudy')).length, 1);
    assert.deepEqual(await failuresOf('create'), []);
  });

  it('a stale update answered 412 is retried, and not recorded as a failure', async () => {
    const dicom = stack.dicom!;
    await dicom.storeFiles([makeInstanceFile(spec('update', 1))]);
    await deliver(message('update', change('update', 1, 1)));
    await dicom.storeFiles([makeInstanceFile(spec('update', 2))]);

    // The stale writer reads FHIR ({1}) and DICOM ({1, 2}); its DICOM answer arrives after {1, 2, 3} is written.
    holds.push(1500);
    const staleRequested = nextMetadataRequest();
    const stale = deliver(message('update', change('update', 2, 2)));
    await staleRequested;
    await dicom.storeFiles([makeInstanceFile(spec('update', 3))]);
    const fresh = await deliver(message('update', change('update', 3, 3)));
    assert.equal(fresh?.outcome, 'updated');
    assert.deepEqual(await instancesOf('update'), sops('update', 1, 2, 3));

    const staleResult = await stale;
    assert.equal(staleResult?.attempts, 2, 'its If-Match failed once (412), then it read again');
    assert.equal(staleResult?.outcome, 'unchanged');
    assert.deepEqual(await instancesOf('update'), sops('update', 1, 2, 3));
    assert.deepEqual(await failuresOf('update'), [], 'a lost race is not a failure');
  });

  it('a stale removal (the study was stored again meanwhile) does not delete the newer ImagingStudy', async () => {
    const dicom = stack.dicom!;
    const one = spec('removal', 1);
    await dicom.storeFiles([makeInstanceFile(one)]);
    await deliver(message('removal', change('removal', 1, 1)));
    await dicom.deleteStudy(one.studyUid);

    // The stale writer reads FHIR ({1}) and DICOM (nothing: 404), held until the study is back with {2}.
    holds.push(1500);
    const staleRequested = nextMetadataRequest();
    const stale = deliver(message('removal', change('removal', 1, 2, 'delete')));
    await staleRequested;
    await dicom.storeFiles([makeInstanceFile(spec('removal', 2))]);
    const fresh = await deliver(message('removal', change('removal', 2, 3)));
    assert.equal(fresh?.outcome, 'updated');
    assert.deepEqual(await instancesOf('removal'), sops('removal', 2));

    const staleResult = await stale;
    assert.equal(staleResult?.attempts, 2, 'its versioned delete failed once (412), then it read again');
    assert.equal(staleResult?.outcome, 'unchanged');
    assert.deepEqual(await instancesOf('removal'), sops('removal', 2));
    assert.deepEqual(await failuresOf('removal'), []);
  });
});
