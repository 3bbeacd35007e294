import assert from 'node:assert/strict';
import axios from 'axios';
import type { ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuthorizationProvider } from '../../../shared/auth/index.js';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import { RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { assertNoneLeaked, renderings } from '../../support/captureOutput.js';
import { listen } from '../../support/loopback.js';

/**
 * A metadata body cut off while it is read (connection reset, request deadline): read again only while no instance
 * has been handed over (a repeat would hand it over twice), located, retryable, the deadline's setting named, and no
 * token in any of it. The same for the whole-array read, which collects the streamed one.
 */
describe('study metadata cut off while it is read (loopback server)', () => {
  const study = '1.2.840.6.1';
  const token = 'Bearer eyJ0eXAi.c2VjcmV0LXRva2Vu.Zm9yLXRoZS1kaWNvbS1zZXJ2ZXI';
  const instances = [1, 2, 3].map((n) => ({ [Tag.SOPInstanceUID]: { vr: 'UI', Value: [`${study}.${n}`] } }));
  const text = JSON.stringify(instances);
  /** What the n-th request (from 0) gets. */
  let answer: (response: ServerResponse, n: number) => void = () => undefined;
  let authorizations: (string | undefined)[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    server = await listen((request, response) => {
      authorizations.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/dicom+json' });
      answer(response, authorizations.length - 1);
    });
  });
  after(() => server.close());
  beforeEach(() => {
    authorizations = [];
  });

  const withToken: AuthorizationProvider = { authorizationFor: async () => token, invalidate: () => undefined };
  const reader = (timeoutMs = 5_000) =>
    createStudyReader(
      createServerHttpClient({
        baseUrl: server.origin,
        authorization: withToken,
        timeoutMs,
        limitSettings: { timeout: 'DicomCast:RequestTimeoutSeconds' },
      }),
      'v2',
      undefined,
      { retry: { fallbackBudgetMs: 60_000, sleep: () => Promise.resolve() } },
    );
  /** Sends `first` of the body, then resets the connection. */
  const cutAfter = (response: ServerResponse, first: string) =>
    response.write(first, () => setTimeout(() => response.socket?.destroy(), 50));
  const streamed = async (timeoutMs?: number) => {
    const handed: DicomJsonDataset[] = [];
    const count = await reader(timeoutMs).forEachStudyInstance(study, undefined, (dataset) => handed.push(dataset));
    return { count, handed };
  };
  const assertNoToken = (error: unknown) => assertNoneLeaked(renderings(error), [token], 'the error');

  it('cut off before the first instance: read again, each instance handed over once', async () => {
    answer = (response, n) => (n === 0 ? cutAfter(response, '[') : response.end(text));
    assert.deepEqual(await streamed(), { count: 3, handed: instances });
    assert.deepEqual(authorizations, [token, token]);
    authorizations = [];
    assert.deepEqual(await reader().readStudyMetadata(study), instances);
    assert.deepEqual(authorizations, [token, token]);
  });

  it('cut off after an instance was handed over: not read again, a located retryable failure without the token', async () => {
    answer = (response) => cutAfter(response, `[${JSON.stringify(instances[0])},`);
    const handed: DicomJsonDataset[] = [];
    await assert.rejects(
      reader().forEachStudyInstance(study, undefined, (dataset) => handed.push(dataset)),
      (error: unknown) => {
        assert.ok(error instanceof RetryableError, String(error));
        assert.equal(error.category, 'transient');
        assert.deepEqual(error.location, { study });
        assert.match(
          error.message,
          /^DICOM GET v2\/studies\/1\.2\.840\.6\.1\/metadata failed while reading: GET http:\/\/127\.0\.0\.1:\d+\/v2\/studies\/1\.2\.840\.6\.1\/metadata failed: ECONNRESET \(study 1\.2\.840\.6\.1\)$/,
        );
        assertNoToken(error);
        return true;
      },
    );
    assert.deepEqual(handed, instances.slice(0, 1));
    assert.equal(authorizations.length, 1);
  });

  it('past the request deadline: the setting and the study named, tried twice, no token in the error', async () => {
    answer = (response) => {
      response.write('[');
      const timer = setInterval(() => response.write(' '), 100);
      response.on('close', () => clearInterval(timer));
    };
    for (const read of [() => streamed(500), () => reader(500).readStudyMetadata(study)]) {
      authorizations = [];
      await assert.rejects(read(), (error: unknown) => {
        assert.ok(error instanceof RetryableError, String(error));
        assert.deepEqual(error.location, { study });
        assert.match(
          error.message,
          /^DICOM GET v2\/studies\/1\.2\.840\.6\.1\/metadata failed while reading: GET http:\/\/127\.0\.0\.1:\d+\/v2\/studies\/1\.2\.840\.6\.1\/metadata failed: timed out \(no complete response within 0\.5 s, DicomCast:RequestTimeoutSeconds\) \(study 1\.2\.840\.6\.1\)$/,
        );
        assertNoToken(error);
        return true;
      });
      assert.equal(authorizations.length, 2, 'a second deadline is left to the queue');
    }
  });

  it('no answer before the deadline: named as such, no token in the error', async () => {
    answer = () => undefined;
    await assert.rejects(reader(300).readStudyMetadata(study), (error: unknown) => {
      assert.ok(error instanceof RetryableError, String(error));
      assert.match(
        error.message,
        /^DICOM GET v2\/studies\/1\.2\.840\.6\.1\/metadata failed: GET http:\/\/127\.0\.0\.1:\d+\/v2\/studies\/1\.2\.840\.6\.1\/metadata failed: timed out \(no complete response within 0\.3 s, DicomCast:RequestTimeoutSeconds\) \(study 1\.2\.840\.6\.1\)$/,
      );
      assertNoToken(error);
      return true;
    });
  });

  it("given a client that is not the server client, axios' own error (config and headers) is not kept in the error", async () => {
    answer = (response) => response.end(text);
    const plain = axios.create({
      baseURL: `${server.origin}/`,
      headers: { Authorization: token },
      maxContentLength: 10,
    });
    const read = createStudyReader(plain, 'v2', undefined, { retry: { fallbackBudgetMs: 0 } });
    await assert.rejects(read.readStudyMetadata(study), (error: unknown) => {
      assert.ok(error instanceof RetryableError, String(error));
      assert.match(error.message, /metadata failed while reading: maxContentLength size of 10 exceeded/);
      assertNoToken(error);
      return true;
    });
    assert.deepEqual(authorizations, [token]);
  });
});
