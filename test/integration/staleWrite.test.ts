import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { createInvocationContext } from '../../dev/functionsHost/invocationContext.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../dev/samples/index.js';
import { imagingStudyWriter } from '../../functions/imagingStudyWriter.js';
import { encodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import type { StudyMessage } from '../../shared/queue/studyMessage.js';

/**
 * The race the invariant depends on, made deterministic: a writer whose DICOM read is older than another
 * writer's FHIR write must not overwrite it (If-Match turns its write into a 412, and the retry reads again).
 */
describe('a write based on stale DICOM data never lands over a newer one', () => {
  let stack: LocalStack;
  let holdNextMetadataMs = 0;

  before(async () => {
    stack = await startLocalStack({
      dicomOptions: {
        responseDelayMs: (path) => {
          if (!path.endsWith('/metadata')) return 0;
          const hold = holdNextMetadataMs;
          holdNextMetadataMs = 0;
          return hold;
        },
      },
    });
    new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  const study = uid('stale', 'study');
  const series = uid('stale', 'series');
  const spec = (n: number): InstanceSpec => ({
    studyUid: study,
    seriesUid: series,
    sopUid: uid('stale', 'sop', n),
    patientId: 'STALE-1',
    patientName: 'Stale^Test',
    modality: 'CT',
    instanceNumber: n,
  });
  const deliver = (message: StudyMessage) => {
    const text = encodeStudyMessage(message);
    const body = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
    return imagingStudyWriter(
      body,
      createInvocationContext('imagingStudyWriter', { dequeueCount: 1 }, () => undefined),
    );
  };
  const message = (sequence: number, n: number): StudyMessage => ({
    study,
    maxSequence: sequence,
    changes: [{ series, sop: uid('stale', 'sop', n), action: 'create', sequence, state: 'current' }],
  });

  it('keeps the instance stored between the stale read and its write', async () => {
    const dicom = stack.dicom!;
    await dicom.storeFiles([makeInstanceFile(spec(1))]);
    await deliver(message(1, 1));
    await dicom.storeFiles([makeInstanceFile(spec(2))]);

    // The stale writer reads FHIR ({1}), then DICOM ({1, 2}), which reaches it only after the next change is synced.
    holdNextMetadataMs = 400;
    const stale = deliver(message(2, 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await dicom.storeFiles([makeInstanceFile(spec(3))]);
    await deliver(message(3, 3));
    await stale;

    const [imagingStudy] = await stack.fhir!.all<ImagingStudy>('ImagingStudy');
    const uids = imagingStudy?.series?.flatMap((s) => s.instance?.map((instance) => instance.uid) ?? []);
    assert.deepEqual(uids?.sort(), [1, 2, 3].map((n) => uid('stale', 'sop', n)).sort());
  });
});
