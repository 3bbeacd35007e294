import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import { startLocalStack, type LocalStack } from '../../dev/localStack.js';
import { makeInstanceFile, uid } from '../../dev/samples/index.js';
import type { StudyMessage } from '../../shared/queue/studyMessage.js';
import { createRuntime } from '../../shared/runtime/runtime.js';
import { syncStudy } from '../../shared/sync/syncStudy.js';
import { differences } from '../support/convergence.js';

/**
 * AHDS resolves a conditional create by a search before the transaction (microsoft/fhir-server#1382): writers that
 * start together on an empty server all create. Each re-reads what it created and merges the racing copies, so the
 * end state has one of each whatever the interleaving.
 */
describe('16 concurrent writers on an empty FHIR server (azure profile: conditional create not atomic)', () => {
  let stack: LocalStack;

  before(async () => {
    stack = await startLocalStack({ fhirProfile: 'azure', fhirOptions: { storageLatencyMs: 2, raceWindowMs: 10 } });
  });
  after(async () => {
    await stack.close();
  });

  it('create exactly one Patient per identity, one Endpoint, one ImagingStudy per study', async () => {
    const studies = [0, 1, 2, 3, 4, 5, 6, 7].map((index) => uid('race', 'study', String(index)));
    for (const [index, studyUid] of studies.entries()) {
      const seriesUid = uid('race', studyUid, 'series');
      const sopUid = uid('race', studyUid, 'sop');
      await stack.dicom!.storeFiles([
        makeInstanceFile({
          studyUid,
          seriesUid,
          sopUid,
          patientId: `RACE-${index % 2}`,
          patientName: 'Race^Rita',
          modality: 'CT',
        }),
      ]);
    }
    const messages: StudyMessage[] = stack.dicom!.currentInstances().map((instance, index) => ({
      study: instance.study,
      maxSequence: index + 1,
      changes: [
        { series: instance.series, sop: instance.sop, action: 'create', sequence: index + 1, state: 'current' },
      ],
    }));
    const runtime = await createRuntime(stack.settings);
    const deps = { dicom: runtime.studyReader, fhir: runtime.fhir, recordFailure: async () => {} };
    // 16 writers: every study twice at once.
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        syncStudy(messages[index % messages.length] as StudyMessage, deps, { mapping: runtime.mapping }),
      ),
    );

    assert.deepEqual(await differences(stack.dicom!, stack.fhir!), []);
    assert.equal((await stack.fhir!.all<Endpoint>('Endpoint')).length, 1);
    assert.equal((await stack.fhir!.all<Patient>('Patient')).length, 2);
    assert.equal((await stack.fhir!.all<ImagingStudy>('ImagingStudy')).length, 8);
    const merged = results.reduce((sum, result) => sum + (result.duplicates?.removed ?? 0), 0);
    console.log(`16 writers: ${merged} racing copies merged`);
  });
});
