import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { LocalFunctionsHost } from '../../dev/functionsHost/localFunctionsHost.js';
import { createInvocationContext } from '../../dev/functionsHost/invocationContext.js';
import { makeInstanceFile, uid } from '../../dev/samples/index.js';
import { imagingStudyWriter } from '../../functions/imagingStudyWriter.js';
import { isBadRow, parseChangeFeedRow } from '../../shared/dicomweb/changeFeedRow.js';
import type { ChangeFeedEntry } from '../../shared/dicomweb/changeFeedEntry.js';
import { recordedSource } from '../../shared/mapping/demographicsSource.js';
import { buildStudyMessages } from '../../shared/queue/buildStudyMessages.js';
import { reconcileMessage } from '../../shared/ops/resync.js';
import { encodeStudyMessage } from '../../shared/queue/studyMessageCodec.js';
import type { StudyMessage } from '../../shared/queue/studyMessage.js';

/**
 * Two studies name one patient and disagree on the name and sex: the Patient shows the study with the newest
 * change-feed entry, with the messages delivered newest first, redelivered and resynced (the invariant test does the
 * same at random; this is the order made deterministic). Real DICOM server stand-in, change feed and FHIR server.
 */
describe('the Patient shows the demographics of the newest change-feed entry among its studies', () => {
  let stack: LocalStack;

  before(async () => {
    stack = await startLocalStack();
    new LocalFunctionsHost({ settings: stack.settings });
  });
  after(async () => {
    await stack.close();
  });

  const patientId = 'DEMO-1';
  const studyA = uid('demographics', 'A');
  const studyB = uid('demographics', 'B');
  const store = (study: string, name: string, sex: 'M' | 'F') =>
    stack.dicom!.storeFiles([
      makeInstanceFile({
        studyUid: study,
        seriesUid: `${study}.1`,
        sopUid: `${study}.1.1`,
        patientId,
        patientName: name,
        patientSex: sex,
        modality: 'CT',
      }),
    ]);
  let read = 0;
  /** The messages the poller would send for the feed rows since the last call, by study. */
  const poll = async (): Promise<Map<string, StudyMessage>> => {
    const response = await fetch(`${stack.dicom!.url}/v2/changefeed?offset=${read}&limit=100&includeMetadata=false`);
    const rows = ((await response.json()) as unknown[]).map((raw) => parseChangeFeedRow(raw));
    read += rows.length;
    const entries = rows.filter((row): row is ChangeFeedEntry => !isBadRow(row));
    return new Map(buildStudyMessages(entries).map((message) => [message.study, message]));
  };
  const deliver = (message: StudyMessage) => {
    const body = JSON.parse(Buffer.from(encodeStudyMessage(message), 'base64').toString('utf8')) as unknown;
    return imagingStudyWriter(
      body,
      createInvocationContext('imagingStudyWriter', { dequeueCount: 1 }, () => undefined),
    );
  };
  const patient = async () => {
    const found = (await stack.fhir!.all<Patient>('Patient')).filter((candidate) =>
      candidate.identifier?.some((identifier) => identifier.value === patientId),
    );
    assert.equal(found.length, 1);
    const [only] = found as [Patient];
    return { name: only.name?.[0]?.family, gender: only.gender, source: recordedSource(only, stack.dicom!.url) };
  };

  it('keeps the newest study whatever the order, and never moves back', async () => {
    await store(studyA, 'Older^Ann', 'F');
    const first = await poll();
    await store(studyB, 'Newer^Bob', 'M');
    const second = await poll();
    const messageA = first.get(studyA)!;
    const messageB = second.get(studyB)!;
    assert.ok(messageB.maxSequence > messageA.maxSequence);

    // Newest first, then the older study's message (delayed): B stays.
    await deliver(messageB);
    await deliver(messageA);
    assert.deepEqual(await patient(), {
      name: 'Newer',
      gender: 'male',
      source: {
        feed: stack.dicom!.url,
        sequence: messageB.maxSequence,
        study: studyB,
        birthDateSequence: messageB.maxSequence,
      },
    });

    // A bulk update of A's name makes A the newest entry: A's update wins; B redelivered and resynced change nothing.
    await stack.dicom!.bulkUpdate([studyA], {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Newest^Ann' }] },
      '00100040': { vr: 'CS', Value: ['F'] },
    });
    const update = (await poll()).get(studyA)!;
    await deliver(update);
    await deliver(messageB);
    await deliver(reconcileMessage(studyB));
    const after = await patient();
    assert.deepEqual([after.name, after.gender, after.source?.study], ['Newest', 'female', studyA]);
    assert.equal(after.source?.sequence, update.maxSequence);
  });
});
