import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { createAuthorizationProvider } from '../../../shared/auth/createAuthorizationProvider.js';
import { ServerRequestError, createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { captureOutput, renderings } from '../../support/captureOutput.js';
import { listen, refusedOrigin } from '../../support/loopback.js';
import { startOAuth2TestServer, type OAuth2TestServer } from '../../support/oauth2TestServer.js';
import { startProtectedResourceServer } from '../../support/protectedResourceServer.js';

const secret = 'Sekr1t~client~VALUE~9f2c';
const password = 'Pa55word~of~the~cast~user';
const clientId = 'leak-test-client';

describe('no secret, password or token leaks from a failure', () => {
  let tokenServer: OAuth2TestServer;
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const errors: unknown[] = [];
  const closers: Array<() => Promise<void>> = [];
  let known: string[] = [];

  beforeEach(async () => {
    errors.length = 0;
    tokenServer = await startOAuth2TestServer({
      expected: { grantType: 'password', clientId, clientSecret: secret, username: 'cast-user', password },
      now: () => clock.now,
      lifetimeSeconds: 3600,
    });
    closers.push(tokenServer.close);
    known = [secret, password];
  });

  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  const settings = (tokenUri: string, overrides: Record<string, string> = {}) => ({
    Fhir__Authentication__Enabled: 'true',
    Fhir__Authentication__AuthenticationType: 'OAuth2UserPasswordCredential',
    Fhir__Authentication__OAuth2ClientCredential__TokenUri: tokenUri,
    Fhir__Authentication__OAuth2ClientCredential__ClientId: clientId,
    Fhir__Authentication__OAuth2ClientCredential__ClientSecret: secret,
    Fhir__Authentication__OAuth2ClientCredential__Username: 'cast-user',
    Fhir__Authentication__OAuth2ClientCredential__Password: password,
    ...overrides,
  });

  async function expectFailure(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      errors.push(error);
      // What an app would do with it.
      console.error('sync failed', error);
      console.log(`sync failed: ${String(error)}`);
      return;
    }
    assert.fail('expected a failure');
  }

  /** A value as it may appear: as is, in a URL, or in a form body. */
  const encodings = (value: string) => [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice('v='.length),
  ];

  function assertNoLeak(output: string) {
    assert.ok(errors.length > 0, 'no failure was captured');
    for (const value of known.flatMap(encodings)) {
      assert.ok(!output.includes(value), 'a secret reached the console');
      for (const error of errors) {
        for (const text of renderings(error)) assert.ok(!text.includes(value), 'a secret is in an error');
      }
    }
  }

  it('configuration errors', async () => {
    const resource = 'https://fhir.example.org';
    const output = await captureOutput(async () => {
      const invalid: Array<Record<string, string>> = [
        { Fhir__Authentication__Enabled: secret },
        { Fhir__Authentication__AuthenticationType: password },
        { Fhir__Authentication__OAuth2ClientCredential__TokenUri: `https://user:${secret}@idp.example.org/token` },
        { Fhir__Authentication__OAuth2ClientCredential__TokenUri: `http://idp.example.org/token?key=${secret}` },
        { Fhir__Authentication__OAuth2ClientCredential__ClientSecret: `@Microsoft.KeyVault(SecretUri=${secret})` },
        { Fhir__Authentication__OAuth2ClientCredential__ClientId: '' },
      ];
      for (const overrides of invalid) {
        await expectFailure(async () => loadAuthConfig(settings(tokenServer.tokenUri, overrides), 'Fhir', resource));
      }
    });
    assert.equal(errors.length, 6);
    assertNoLeak(output);
  });

  it('token endpoint failures, direct and through the server client', async () => {
    const resourceServer = await startProtectedResourceServer(() => true);
    closers.push(resourceServer.close);
    const origin = resourceServer.origin;
    const provider = (tokenUri: string) =>
      createAuthorizationProvider(loadAuthConfig(settings(tokenUri), 'Fhir', origin), origin, { now: () => clock.now });
    const through = (tokenUri: string) =>
      createServerHttpClient({ baseUrl: origin, authorization: provider(tokenUri), timeoutMs: 2000 });

    const output = await captureOutput(async () => {
      const down = `${await refusedOrigin()}/token`;
      await expectFailure(() => provider(down).authorizationFor(origin));
      await expectFailure(() => through(down).get('Patient'));

      // A careless token endpoint that echoes the credentials back in its error.
      tokenServer.failure = {
        status: 400,
        body: {
          error: `invalid_client ${secret}`,
          error_description: `secret ${secret} / password ${password} rejected`,
        },
      };
      await expectFailure(() => provider(tokenServer.tokenUri).authorizationFor(origin));
      await expectFailure(() => through(tokenServer.tokenUri).post('Patient', { resourceType: 'Patient' }));

      tokenServer.failure = { status: 503, body: `<html>${secret}</html>` };
      await expectFailure(() => provider(tokenServer.tokenUri).authorizationFor(origin));
      tokenServer.failure = { status: 200, body: { token: secret } };
      await expectFailure(() => provider(tokenServer.tokenUri).authorizationFor(origin));

      // A token obtained, then the endpoint refuses the refresh after the token expired.
      tokenServer.failure = undefined;
      const expiring = provider(tokenServer.tokenUri);
      await expiring.authorizationFor(origin);
      known.push(...tokenServer.issued);
      tokenServer.failure = { status: 400, body: { error: 'invalid_grant', error_description: 'user locked out' } };
      clock.now += 2 * 3600_000;
      await expectFailure(() => expiring.authorizationFor(origin));
    });
    assert.equal(errors.length, 7);
    assertNoLeak(output);
  });

  it('a resource server that times out or resets with a token in the request', async () => {
    const hanging = await listen(() => undefined);
    const resetting = await listen((request) => request.socket.destroy());
    closers.push(hanging.close, resetting.close);
    const output = await captureOutput(async () => {
      for (const [target, timeoutMs] of [
        [hanging.origin, 200],
        [resetting.origin, 2000],
      ] as const) {
        const client = createServerHttpClient({
          baseUrl: target,
          authorization: createAuthorizationProvider(
            loadAuthConfig(settings(tokenServer.tokenUri), 'Fhir', target),
            target,
            {
              now: () => clock.now,
            },
          ),
          timeoutMs,
        });
        await expectFailure(() => client.get('Patient', { params: { identifier: 'mrn|12345' } }));
      }
      known.push(...tokenServer.issued);
    });
    assert.equal(tokenServer.issued.length, 2);
    assert.equal(errors.length, 2);
    const [timedOut, reset] = errors;
    assert.ok(timedOut instanceof ServerRequestError);
    assert.match(timedOut.message, new RegExp(`GET ${hanging.origin}/Patient failed: timed out`));
    assert.ok(reset instanceof ServerRequestError);
    assert.equal(reset.code, 'ECONNRESET');
    assert.ok(!timedOut.message.includes('12345'), 'the query (patient identifiers) is not in the message');
    assertNoLeak(output);
  });
});
