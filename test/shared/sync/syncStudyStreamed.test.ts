import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import type { RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { noAuthorization } from '../../../shared/auth/index.js';
import { createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import { NonRetryableError, type Failure } from '../../../shared/errors/errors.js';
import type { FhirClient } from '../../../shared/fhir/fhirClient.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import type { InstanceChange, StudyMessage } from '../../../shared/queue/studyMessage.js';
import { syncStudy } from '../../../shared/sync/syncStudy.js';
import { createOurEndpoint } from '../../support/endpointFixture.js';
import { useLocalFhirServer } from '../../support/localFhirServer.js';
import { listen } from '../../support/loopback.js';
import { instance, options as mapping, studyUid } from '../../support/mappingFixtures.js';

/**
 * syncStudy reading the study's metadata as the app does, streamed over HTTP from a loopback DICOM server: the rules
 * of the whole-body read hold for the stream. A non-object item costs that instance only; a study the server says is
 * gone while the feed lists current instances keeps its ImagingStudy; a body over DicomWeb:MaxMetadataBytes fails the
 * study, located, and writes nothing.
 */
describe('syncStudy, metadata streamed from the DICOM server', () => {
  let server: RunningFhirServer;
  let fhir: FhirClient;
  useLocalFhirServer((local) => ({ server, fhir } = local));
  beforeEach(() => createOurEndpoint(fhir, mapping));

  let status = 200;
  let body = '[]';
  let dicom: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    dicom = await listen((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/dicom+json' });
      for (let start = 0; start < body.length; start += 64) response.write(body.slice(start, start + 64));
      response.end();
    });
  });
  after(() => dicom.close());

  const series = '1.2.3.1';
  const sop = (n: number) => `${series}.${n}`;
  const change = (n: number, sequence: number): InstanceChange => ({
    series,
    sop: sop(n),
    action: 'create',
    sequence,
    state: 'current',
  });
  const message = (...changes: InstanceChange[]): StudyMessage => ({
    study: studyUid,
    maxSequence: Math.max(0, ...changes.map((c) => c.sequence)),
    changes,
  });
  const sync = async (msg: StudyMessage, maxMetadataBytes?: number) => {
    const failures: Failure[] = [];
    const reader = createStudyReader(
      createServerHttpClient({ baseUrl: dicom.origin, authorization: noAuthorization }),
      'v2',
      undefined,
      { retry: { fallbackBudgetMs: 0, maxAttempts: 1 }, ...(maxMetadataBytes ? { maxMetadataBytes } : {}) },
    );
    const deps = {
      dicom: reader,
      fhir,
      recordFailure: (failure: Failure) => {
        failures.push(failure);
        return Promise.resolve();
      },
    };
    return { failures, result: await syncStudy(msg, deps, { mapping }) };
  };
  const instancesHeld = async () =>
    (await server.all<ImagingStudy>('ImagingStudy')).flatMap((study) =>
      (study.series ?? []).flatMap((one) => (one.instance ?? []).map((i) => i.uid)),
    );

  it('an item that is not an object is that instance’s failure; the others are written', async () => {
    status = 200;
    body = JSON.stringify([instance(series, sop(1)), 42, instance(series, sop(2))]);
    const { result, failures } = await sync(message(change(1, 1), change(2, 2)));
    assert.equal(result.outcome, 'created');
    assert.equal(result.rejectedInstances, 1);
    assert.deepEqual((await instancesHeld()).sort(), [sop(1), sop(2)]);
    assert.deepEqual(
      failures.map((failure) => [failure.category, failure.study, failure.tag]),
      [['bad-dicom-data', studyUid, '(dataset)']],
    );
  });

  it('a study the server says is gone while the feed lists current instances keeps its ImagingStudy', async () => {
    status = 200;
    body = JSON.stringify([instance(series, sop(1))]);
    const created = await sync(message(change(1, 1)));
    assert.equal(created.result.outcome, 'created');
    for (const gone of [404, 200]) {
      status = gone;
      body = gone === 404 ? '' : '[]';
      const { result, failures } = await sync(message(change(2, 2)));
      assert.equal(result.outcome, 'unchanged', `answer ${gone}`);
      assert.equal(result.imagingStudyId, created.result.imagingStudyId);
      assert.deepEqual(await instancesHeld(), [sop(1)]);
      assert.deepEqual(
        failures.map((failure) => [failure.category, failure.instance]),
        [['dicom-not-found', sop(2)]],
      );
    }
  });

  it('metadata over DicomWeb:MaxMetadataBytes fails the study, located, and nothing is written', async () => {
    status = 200;
    body = JSON.stringify(Array.from({ length: 50 }, (_, n) => instance(series, sop(n + 1))));
    await assert.rejects(sync(message(change(1, 1)), 4096), (error: unknown) => {
      assert.ok(error instanceof NonRetryableError, String(error));
      assert.equal(error.category, 'bad-dicom-data');
      assert.deepEqual(error.location, { study: studyUid, setting: 'DicomWeb:MaxMetadataBytes' });
      return true;
    });
    assert.deepEqual(await server.all('ImagingStudy'), []);
  });
});
