import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuthorizationProvider, loadAuthConfig } from '../../../shared/auth/index.js';
import { serverUrl } from '../../../shared/config/settingSchemas.js';
import { createChangeFeedClient } from '../../../shared/dicomweb/changeFeedClient.js';
import { createStudyReader } from '../../../shared/dicomweb/studyReader.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { isLoopbackHost } from '../../../shared/http/loopback.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { startOAuth2TestServer, type OAuth2TestServer } from '../../support/oauth2TestServer.js';
import { scriptedServer, type ScriptedServer } from './transportServers.js';
import { rejectionOf } from '../../support/rejection.js';

describe('transport: plain http only for real loopback', () => {
  const cases: [string, boolean][] = [
    ['http://127.0.0.1:8080', true],
    ['http://127.1.2.3/dicom', true],
    ['http://127.1', true],
    ['http://localhost:8042', true],
    ['http://[::1]:8080/fhir', true],
    ['http://127.attacker.example', false],
    ['http://127.0.0.1.nip.io', false],
    ['http://localhost.attacker.example', false],
    ['http://128.0.0.1', false],
    ['http://[::2]', false],
    ['http://0.0.0.0', false],
  ];
  for (const [url, accepted] of cases) {
    it(`${url} is ${accepted ? 'accepted' : 'refused'} over plain http`, () => {
      assert.equal(isLoopbackHost(new URL(url).hostname), accepted);
      const parsed = serverUrl.safeParse(url);
      assert.equal(parsed.success, accepted);
      if (!parsed.success) {
        assert.equal(
          parsed.error.issues[0]?.message,
          'must use https (plain http is accepted only for loopback addresses)',
        );
      }
    });
  }
});

describe('transport: a token endpoint refusing the client during a poll', () => {
  let tokens: OAuth2TestServer;
  let dicom: ScriptedServer;
  const settings = (tokenUri: string) => ({
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'OAuth2ClientCredential',
    DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: tokenUri,
    DicomWeb__Authentication__OAuth2ClientCredential__ClientId: 'cast',
    DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret: 'Refused~secret~0d9a',
  });
  const http = () =>
    createServerHttpClient({
      baseUrl: dicom.origin,
      authorization: createAuthorizationProvider(
        loadAuthConfig(settings(tokens.tokenUri), 'DicomWeb', dicom.origin),
        dicom.origin,
      ),
      timeoutMs: 5_000,
    });

  before(async () => {
    tokens = await startOAuth2TestServer({
      expected: { grantType: 'client_credentials', clientId: 'cast', clientSecret: 'another secret' },
      now: Date.now,
    });
    dicom = await scriptedServer([{ status: 200, body: [] }]);
  });
  after(async () => {
    await tokens.close();
    await dicom.close();
  });

  for (const [status, error] of [
    [400, 'invalid_client'],
    [401, 'invalid_client'],
    [400, 'invalid_grant'],
    [400, 'unauthorized_client'],
  ] as const) {
    it(`a ${status} ${error} is reported as such, not as a network error, and is not retried`, async () => {
      tokens.failure = { status, body: { error, error_description: 'AADSTS7000215: Invalid client secret provided' } };
      const feed = createChangeFeedClient(http(), 'v2', undefined, { fallbackBudgetMs: 60_000 });
      const before = tokens.requests.length;
      const failure = await rejectionOf(() => feed.readV2('2026-01-01T00:00:00Z', 0, 10));
      assert.ok(failure instanceof NonRetryableError, String(failure));
      assert.equal(failure.category, 'configuration');
      assert.match(
        failure.message,
        new RegExp(
          `^Token endpoint http://127\\.0\\.0\\.1:\\d+/oauth2/token for the DicomWeb server refused the client_credentials request: HTTP ${status} ${error}: AADSTS7000215`,
        ),
      );
      assert.doesNotMatch(failure.message, /network error/);
      assert.equal(tokens.requests.length - before, 1, 'a refused client is not retried');
      assert.equal(dicom.requests.length, 0, 'nothing was sent to the DICOM server without a token');

      const reader = createStudyReader(http(), 'v2', undefined, { retry: { fallbackBudgetMs: 60_000 } });
      const readError = await rejectionOf(() => reader.readStudyMetadata('1.2.3'));
      assert.ok(readError instanceof NonRetryableError);
      assert.equal(readError.category, 'configuration');
      assert.ok(readError.cause instanceof NonRetryableError, 'the token error is kept as the cause');
      assert.match(readError.message, new RegExp(`HTTP ${status} ${error}`));
    });
  }

  it('a token endpoint answering 503 stays transient', async () => {
    tokens.failure = { status: 503, body: { error: 'temporarily_unavailable' } };
    const feed = createChangeFeedClient(http(), 'v2', undefined, { fallbackBudgetMs: 0 });
    const failure = await rejectionOf(() => feed.readV2('2026-01-01T00:00:00Z', 0, 10));
    assert.ok(failure instanceof RetryableError);
    assert.match(failure.message, /HTTP 503 temporarily_unavailable/);
    tokens.failure = undefined;
  });
});
