import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadAuthConfig, type AuthServer } from '../../../shared/auth/authConfig.js';
import type { AuthorizationProvider } from '../../../shared/auth/authorizationProvider.js';
import { createAuthorizationProvider } from '../../../shared/auth/createAuthorizationProvider.js';
import { createTokenHttpClient } from '../../../shared/auth/oauth2TokenSource.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { listen, refusedOrigin } from '../../support/loopback.js';
import {
  startOAuth2TestServer,
  type ExpectedTokenRequest,
  type OAuth2TestServer,
} from '../../support/oauth2TestServer.js';
import { startProtectedResourceServer, type ProtectedResourceServer } from '../../support/protectedResourceServer.js';

const minute = 60_000;

interface Fixture {
  clock: { now: number };
  tokenServer: OAuth2TestServer;
  resource: ProtectedResourceServer;
  provider: AuthorizationProvider;
  client: ReturnType<typeof createServerHttpClient>;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

type Variant = 'client credential' | 'password (own section)' | 'password (under OAuth2ClientCredential)';

function settingsFor(server: AuthServer, variant: Variant, tokenUri: string, expected: ExpectedTokenRequest) {
  const auth = `${server}__Authentication`;
  const section = variant === 'password (own section)' ? 'OAuth2UserPasswordCredential' : 'OAuth2ClientCredential';
  const settings: Record<string, string> = {
    [`${auth}__Enabled`]: 'true',
    [`${auth}__AuthenticationType`]:
      variant === 'client credential' ? 'OAuth2ClientCredential' : 'OAuth2UserPasswordCredential',
    [`${auth}__${section}__TokenUri`]: tokenUri,
    [`${auth}__${section}__ClientId`]: expected.clientId,
  };
  const optional = {
    ClientSecret: expected.clientSecret,
    Username: expected.username,
    Password: expected.password,
    Scope: expected.scope,
    Resource: expected.resource,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value !== undefined) settings[`${auth}__${section}__${name}`] = value;
  }
  return settings;
}

async function start(
  options: {
    server?: AuthServer;
    variant?: Variant;
    expected?: Partial<ExpectedTokenRequest>;
    format?: 'opaque' | 'jwt';
    lifetimeSeconds?: number;
    sendExpiresIn?: boolean;
  } = {},
): Promise<Fixture> {
  const server = options.server ?? 'Fhir';
  const variant = options.variant ?? 'client credential';
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const expected: ExpectedTokenRequest = {
    grantType: variant === 'client credential' ? 'client_credentials' : 'password',
    clientId: `${server.toLowerCase()}-cast`,
    clientSecret: 'client-secret-value',
    ...(variant === 'client credential' ? {} : { username: 'cast-user', password: 'cast-password' }),
    ...options.expected,
  };
  const tokenServer = await startOAuth2TestServer({
    expected,
    now: () => clock.now,
    ...(options.format ? { format: options.format } : {}),
    ...(options.lifetimeSeconds !== undefined ? { lifetimeSeconds: options.lifetimeSeconds } : {}),
    ...(options.sendExpiresIn !== undefined ? { sendExpiresIn: options.sendExpiresIn } : {}),
  });
  const resource = await startProtectedResourceServer((token) => tokenServer.isValid(token));
  open.push(tokenServer, resource);
  const config = loadAuthConfig(settingsFor(server, variant, tokenServer.tokenUri, expected), server, resource.origin);
  const provider = createAuthorizationProvider(config, resource.origin, { now: () => clock.now });
  const client = createServerHttpClient({ baseUrl: resource.origin, authorization: provider, timeoutMs: 5000 });
  return { clock, tokenServer, resource, provider, client };
}

describe('OAuth2 authorization against a real token endpoint', () => {
  for (const server of ['DicomWeb', 'Fhir'] as const) {
    for (const variant of [
      'client credential',
      'password (own section)',
      'password (under OAuth2ClientCredential)',
    ] as const) {
      it(`${server}: ${variant} gets a token the resource server accepts`, async () => {
        const { tokenServer, resource, client } = await start({ server, variant });
        const response = await client.get('studies');
        assert.equal(response.status, 200);
        assert.equal(tokenServer.requests.length, 1);
        const sent = tokenServer.requests[0];
        assert.equal(sent?.grant_type, variant === 'client credential' ? 'client_credentials' : 'password');
        assert.equal(sent?.client_id, `${server.toLowerCase()}-cast`);
        assert.equal(resource.requests[0]?.authorization, `Bearer ${tokenServer.issued[0]}`);
      });
    }
  }

  it('sends scope and resource when configured', async () => {
    const { tokenServer, client } = await start({
      expected: { scope: 'https://fhir.example.org/.default', resource: 'https://fhir.example.org' },
    });
    assert.equal((await client.get('Patient')).status, 200);
    assert.equal(tokenServer.requests[0]?.scope, 'https://fhir.example.org/.default');
    assert.equal(tokenServer.requests[0]?.resource, 'https://fhir.example.org');
  });

  it('sends a client secret with the password grant only when one is configured', async () => {
    const { tokenServer, client } = await start({
      variant: 'password (own section)',
      expected: { clientSecret: undefined },
    });
    assert.equal((await client.get('Patient')).status, 200);
    assert.equal('client_secret' in (tokenServer.requests[0] ?? {}), false);
  });

  it('makes 20 parallel callers share one token request, and fetches a new one when the token nears expiry', async () => {
    const { clock, tokenServer, client } = await start({ lifetimeSeconds: 3600 });
    tokenServer.delayMs = 50;
    const first = await Promise.all(Array.from({ length: 20 }, () => client.get('studies')));
    assert.ok(first.every((response) => response.status === 200));
    assert.equal(tokenServer.requests.length, 1);

    clock.now += 54 * minute; // more than 5 minutes left: cached
    await Promise.all(Array.from({ length: 20 }, () => client.get('studies')));
    assert.equal(tokenServer.requests.length, 1);

    clock.now += 2 * minute; // within 5 minutes of expiry: one refresh for all 20
    const second = await Promise.all(Array.from({ length: 20 }, () => client.get('studies')));
    assert.ok(second.every((response) => response.status === 200));
    assert.equal(tokenServer.requests.length, 2);
  });

  it('refreshes a short-lived token half way through its life', async () => {
    const { clock, tokenServer, provider, resource } = await start({ lifetimeSeconds: 60 });
    await provider.authorizationFor(resource.origin);
    clock.now += 29_000;
    await provider.authorizationFor(resource.origin);
    assert.equal(tokenServer.requests.length, 1);
    clock.now += 2_000;
    await provider.authorizationFor(resource.origin);
    assert.equal(tokenServer.requests.length, 2);
  });

  it('reads the expiry of a JWT without expires_in from its exp claim', async () => {
    const { clock, tokenServer, provider, resource } = await start({
      format: 'jwt',
      lifetimeSeconds: 3600,
      sendExpiresIn: false,
    });
    await provider.authorizationFor(resource.origin);
    clock.now += 54 * minute;
    await provider.authorizationFor(resource.origin);
    assert.equal(tokenServer.requests.length, 1);
    clock.now += 2 * minute;
    await provider.authorizationFor(resource.origin);
    assert.equal(tokenServer.requests.length, 2);
  });

  it('assumes a short life for an opaque token without expires_in', async () => {
    const { clock, tokenServer, provider, resource } = await start({ lifetimeSeconds: 3600, sendExpiresIn: false });
    await provider.authorizationFor(resource.origin);
    clock.now += 4 * minute;
    await provider.authorizationFor(resource.origin);
    assert.equal(tokenServer.requests.length, 1);
    clock.now += 2 * minute;
    await provider.authorizationFor(resource.origin);
    assert.equal(tokenServer.requests.length, 2);
  });

  it('keeps using a still-valid token when an early refresh fails, and fails once it has expired', async () => {
    const { clock, tokenServer, client } = await start({ lifetimeSeconds: 3600 });
    assert.equal((await client.get('studies')).status, 200);
    tokenServer.failure = { status: 503, body: { error: 'temporarily_unavailable' } };
    clock.now += 57 * minute;
    assert.equal((await client.get('studies')).status, 200);
    assert.equal(tokenServer.requests.length, 2);
    clock.now += 4 * minute;
    await assert.rejects(client.get('studies'), RetryableError);
  });

  it('never falls back to a token a 401 rejected; ignores a 401 for a token already replaced', async () => {
    const { tokenServer, provider, resource } = await start();
    const first = await provider.authorizationFor(resource.origin);
    tokenServer.failure = { status: 503, body: {} };
    provider.invalidate(first);
    await assert.rejects(provider.authorizationFor(resource.origin), RetryableError);

    tokenServer.failure = undefined;
    const second = await provider.authorizationFor(resource.origin);
    assert.notEqual(second, first);
    provider.invalidate(first); // a late 401 for the old token
    assert.equal(await provider.authorizationFor(resource.origin), second);
    provider.invalidate(); // no argument: forget whatever is cached
    assert.notEqual(await provider.authorizationFor(resource.origin), second);
    assert.equal(tokenServer.requests.length, 4);
  });

  it('on a 401 refreshes once and retries once with the new token, body included', async () => {
    const { tokenServer, resource, client } = await start();
    assert.equal((await client.get('studies')).status, 200);
    tokenServer.revokeAll();
    const response = await client.post('studies', { hello: 'world' });
    assert.equal(response.status, 200);
    assert.equal(tokenServer.requests.length, 2);
    const [, rejected, retried] = resource.requests;
    assert.equal(rejected?.authorization, `Bearer ${tokenServer.issued[0]}`);
    assert.equal(retried?.authorization, `Bearer ${tokenServer.issued[1]}`);
    assert.equal(retried?.body, JSON.stringify({ hello: 'world' }));
  });

  it('many requests rejected together cause one refresh, not one each', async () => {
    const { tokenServer, resource, client } = await start();
    assert.equal((await client.get('studies')).status, 200);
    tokenServer.revokeAll();
    tokenServer.delayMs = 30;
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.get('studies')));
    assert.ok(responses.every((response) => response.status === 200));
    assert.equal(tokenServer.requests.length, 2);
    assert.equal(resource.requests.length, 1 + 20 + 20);
  });

  it('against a server that always answers 401, sends exactly two requests and returns the 401', async () => {
    const { tokenServer, resource } = await start();
    tokenServer.revokeAll();
    const alwaysRejects = await startProtectedResourceServer(() => false);
    open.push(alwaysRejects);
    const config = loadAuthConfig(
      settingsFor('DicomWeb', 'client credential', tokenServer.tokenUri, tokenServer.options.expected),
      'DicomWeb',
      alwaysRejects.origin,
    );
    const provider = createAuthorizationProvider(config, alwaysRejects.origin);
    const rejecting = createServerHttpClient({
      baseUrl: alwaysRejects.origin,
      authorization: provider,
      timeoutMs: 5000,
    });
    const response = await rejecting.get('studies');
    assert.equal(response.status, 401);
    assert.equal(alwaysRejects.requests.length, 2);
    assert.equal(tokenServer.requests.length, 2);
    assert.equal(resource.requests.length, 0);
  });

  it('gives the token only to its own origin', async () => {
    const { tokenServer, resource, provider, client } = await start();
    const elsewhere = await startProtectedResourceServer(() => true);
    open.push(elsewhere);
    assert.equal(await provider.authorizationFor(`${elsewhere.origin}/v2/studies`), undefined);
    assert.equal(await provider.authorizationFor(resource.origin.replace('127.0.0.1', 'localhost')), undefined);
    assert.equal(await provider.authorizationFor('not a url'), undefined);
    assert.equal(tokenServer.requests.length, 0);

    // A next link or Location pointing at another host, followed through the same client.
    const foreign = await client.get(`${elsewhere.origin}/fhir/Patient?page=2`);
    assert.equal(foreign.status, 401); // it wanted a token and did not get ours...
    assert.equal(elsewhere.requests.length, 1); // ...nor a retry with one
    assert.equal(elsewhere.requests[0]?.authorization, undefined);
    const own = await client.get(`${resource.origin}/fhir/Patient?page=2`);
    assert.equal(own.status, 200);
    assert.match(resource.requests[0]?.authorization ?? '', /^Bearer /);
  });

  it('sends nothing and retries nothing when authentication is disabled', async () => {
    const resource = await startProtectedResourceServer(() => false);
    open.push(resource);
    const provider = createAuthorizationProvider(loadAuthConfig({}, 'Fhir', resource.origin), resource.origin);
    const client = createServerHttpClient({ baseUrl: resource.origin, authorization: provider });
    assert.equal((await client.get('metadata')).status, 401);
    assert.equal(resource.requests.length, 1);
    assert.equal(resource.requests[0]?.authorization, undefined);
  });
});

describe('token endpoint failures', () => {
  it('a refused connection is a RetryableError naming the token URI', async () => {
    const { resource } = await start();
    const tokenUri = `${await refusedOrigin()}/oauth2/token`;
    const config = loadAuthConfig(
      settingsFor('Fhir', 'client credential', tokenUri, {
        grantType: 'client_credentials',
        clientId: 'c',
        clientSecret: 's3cr3t',
      }),
      'Fhir',
      resource.origin,
    );
    const client = createServerHttpClient({
      baseUrl: resource.origin,
      authorization: createAuthorizationProvider(config, resource.origin),
    });
    const error = await client.get('Patient').then(
      () => assert.fail('expected a failure'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof RetryableError, String(error));
    assert.match(error.message, new RegExp(`Token endpoint ${tokenUri.replace(/[.]/g, '\\.')} .*ECONNREFUSED`));
    assert.equal(resource.requests.length, 0);
  });

  it('a wrong secret is a NonRetryableError with the OAuth error and description', async () => {
    const { tokenServer, resource } = await start();
    const config = loadAuthConfig(
      settingsFor('Fhir', 'client credential', tokenServer.tokenUri, {
        ...tokenServer.options.expected,
        clientSecret: 'wrong-secret',
      }),
      'Fhir',
      resource.origin,
    );
    const provider = createAuthorizationProvider(config, resource.origin);
    const error = await provider.authorizationFor(resource.origin).then(
      () => assert.fail('expected a failure'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof NonRetryableError, String(error));
    assert.match(error.message, new RegExp(tokenServer.tokenUri.replace(/[.]/g, '\\.')));
    assert.match(error.message, /HTTP 400 invalid_client: Client authentication failed/);
    assert.match(error.message, /Fhir:Authentication:OAuth2ClientCredential/);
    assert.ok(!error.message.includes('wrong-secret'));
  });

  it('a 5xx from the token endpoint is retryable, and the next call tries again', async () => {
    const { tokenServer, provider, resource } = await start();
    tokenServer.failure = { status: 503, body: { error: 'temporarily_unavailable', error_description: 'busy' } };
    await assert.rejects(provider.authorizationFor(resource.origin), (error: unknown) => {
      assert.ok(error instanceof RetryableError);
      assert.match(error.message, /HTTP 503 temporarily_unavailable: busy/);
      return true;
    });
    tokenServer.failure = undefined;
    assert.match((await provider.authorizationFor(resource.origin)) ?? '', /^Bearer opaque-/);
    assert.equal(tokenServer.requests.length, 2);
  });

  it('a success without access_token is an error, not a "Bearer undefined"', async () => {
    const { tokenServer, provider, resource } = await start();
    tokenServer.failure = { status: 200, body: { token_type: 'Bearer' } };
    await assert.rejects(provider.authorizationFor(resource.origin), /without an access_token/);
  });
});

describe('token endpoint answers, status by status', () => {
  interface Answer {
    status: number;
    body: string;
    headers?: Record<string, string>;
  }
  /** A token endpoint that answers whatever the test says, and records what reached it. */
  async function scriptedTokenEndpoint(answer: Answer | 'hang') {
    const received: string[] = [];
    const endpoint = await listen((request, response) => {
      received.push(request.url ?? '');
      if (answer === 'hang') return;
      response.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      response.end(answer.body);
    });
    open.push(endpoint);
    return { origin: endpoint.origin, received };
  }
  const failureFrom = async (tokenUri: string, deps: { http?: ReturnType<typeof createTokenHttpClient> } = {}) => {
    const origin = 'https://fhir.example.org';
    const config = loadAuthConfig(
      settingsFor('Fhir', 'client credential', tokenUri, {
        grantType: 'client_credentials',
        clientId: 'cast',
        clientSecret: 'the-client-secret',
      }),
      'Fhir',
      origin,
    );
    return createAuthorizationProvider(config, origin, deps)
      .authorizationFor(`${origin}/Patient`)
      .then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
  };
  const json = (value: unknown) => JSON.stringify(value);

  it('408, 429 and every 5xx are transient; the error names the TokenUri setting', async () => {
    for (const status of [408, 429, 500, 502]) {
      const endpoint = await scriptedTokenEndpoint({ status, body: json({ error: 'temporarily_unavailable' }) });
      const error = await failureFrom(`${endpoint.origin}/token`);
      assert.ok(error instanceof RetryableError, `${status}: ${String(error)}`);
      assert.equal(error.location.setting, 'Fhir:Authentication:OAuth2ClientCredential:TokenUri');
      assert.match(
        error.message,
        new RegExp(`refused the client_credentials request: HTTP ${status} temporarily_unavailable`),
      );
    }
  });

  it('any other refusal (401, 403, 499) is a configuration error naming the settings section', async () => {
    for (const status of [401, 403, 499]) {
      const endpoint = await scriptedTokenEndpoint({ status, body: json({ error: 'unauthorized_client' }) });
      const error = await failureFrom(`${endpoint.origin}/token`);
      assert.ok(error instanceof NonRetryableError, `${status}: ${String(error)}`);
      assert.equal(error.category, 'configuration');
      assert.equal(error.location.setting, 'Fhir:Authentication:OAuth2ClientCredential');
    }
  });

  it('a redirect is never followed (it would replay the secret) and is a refusal', async () => {
    const elsewhere = await scriptedTokenEndpoint({ status: 200, body: json({ access_token: 'stolen-0123456789' }) });
    const endpoint = await scriptedTokenEndpoint({
      status: 307,
      body: json({ access_token: 'from-a-redirect-0123' }),
      headers: { Location: `${elsewhere.origin}/token` },
    });
    const error = await failureFrom(`${endpoint.origin}/token`);
    assert.ok(error instanceof NonRetryableError, String(error));
    assert.match(error.message, /HTTP 307 \(setting/);
    assert.equal(elsewhere.received.length, 0);
  });

  it('a 2xx other than 200 with a token is a token; a 2xx whose token is empty is not', async () => {
    const created = await scriptedTokenEndpoint({ status: 201, body: json({ access_token: 'created-token-0123' }) });
    const origin = 'https://fhir.example.org';
    const config = loadAuthConfig(
      settingsFor('Fhir', 'client credential', `${created.origin}/token`, {
        grantType: 'client_credentials',
        clientId: 'cast',
        clientSecret: 'the-client-secret',
      }),
      'Fhir',
      origin,
    );
    assert.equal(
      await createAuthorizationProvider(config, origin).authorizationFor(origin),
      'Bearer created-token-0123',
    );
    const empty = await scriptedTokenEndpoint({ status: 200, body: json({ access_token: '' }) });
    const error = await failureFrom(`${empty.origin}/token`);
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /answered HTTP 200 without an access_token/);
    assert.equal(error.location.setting, 'Fhir:Authentication:OAuth2ClientCredential:TokenUri');
  });

  it('says what the endpoint said: error and description, either alone, or nothing for a body that is not JSON', async () => {
    const cases: [string, RegExp][] = [
      [
        json({ error: 'invalid_client', error_description: 'unknown client' }),
        /HTTP 400 invalid_client: unknown client \(setting/,
      ],
      [json({ error: 'invalid_client' }), /HTTP 400 invalid_client \(setting/],
      [json({ error_description: 'unknown client' }), /HTTP 400 unknown client \(setting/],
      [json({ error: 42, error_description: ['x'] }), /HTTP 400 \(setting/],
      ['<html>Bad Request</html>', /HTTP 400 \(setting/],
      ['null', /HTTP 400 \(setting/],
    ];
    for (const [body, pattern] of cases) {
      const endpoint = await scriptedTokenEndpoint({ status: 400, body });
      const error = await failureFrom(`${endpoint.origin}/token`);
      assert.ok(error instanceof NonRetryableError, body);
      assert.match(error.message, pattern, body);
    }
  });

  it('cuts a long error to 100 characters and a long description to 500', async () => {
    const endpoint = await scriptedTokenEndpoint({
      status: 400,
      body: json({ error: 'e'.repeat(1000), error_description: 'd'.repeat(5000) }),
    });
    const error = await failureFrom(`${endpoint.origin}/token`);
    assert.ok(error instanceof NonRetryableError);
    assert.match(error.message, /HTTP 400 e{100}: d{500} \(setting/);
  });

  it('names the token URI without its query, which may carry a credential', async () => {
    const endpoint = await scriptedTokenEndpoint({ status: 400, body: json({ error: 'invalid_request' }) });
    const error = await failureFrom(`${endpoint.origin}/token?code=query-credential-0123`);
    assert.ok(error instanceof NonRetryableError);
    assert.match(
      error.message,
      new RegExp(`^Token endpoint ${endpoint.origin.replace(/[.]/g, '\\.')}/token for the Fhir server`),
    );
    assert.ok(!error.message.includes('query-credential-0123'));
    assert.deepEqual(endpoint.received, ['/token?code=query-credential-0123'], 'the query is still sent');
  });

  it('a token endpoint that does not answer in time is transient and says it timed out', async () => {
    const endpoint = await scriptedTokenEndpoint('hang');
    const error = await failureFrom(`${endpoint.origin}/token`, { http: createTokenHttpClient(200) });
    assert.ok(error instanceof RetryableError, String(error));
    assert.match(error.message, /for the Fhir server could not be reached \(timed out\)/);
  });
});
