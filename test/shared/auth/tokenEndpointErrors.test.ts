import assert from 'node:assert/strict';
import axios from 'axios';
import { afterEach, describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { createAuthorizationProvider } from '../../../shared/auth/createAuthorizationProvider.js';
import { NonRetryableError, RetryableError } from '../../../shared/errors/errors.js';
import { listen, refusedOrigin } from '../../support/loopback.js';

// What an OAuth2 token request failure says and how it is classified, against real loopback endpoints.

const resourceOrigin = 'https://fhir.example.org';
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function endpointAnswering(status: number, body: unknown) {
  const endpoint = await listen((_request, response) => {
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  open.push(endpoint);
  return `${endpoint.origin}/token`;
}

function failureOf(tokenUri: string, options: { secret?: string; http?: ReturnType<typeof axios.create> } = {}) {
  const config = loadAuthConfig(
    {
      Fhir__Authentication__Enabled: 'true',
      Fhir__Authentication__AuthenticationType: 'OAuth2ClientCredential',
      Fhir__Authentication__OAuth2ClientCredential__TokenUri: tokenUri,
      Fhir__Authentication__OAuth2ClientCredential__ClientId: 'cast',
      Fhir__Authentication__OAuth2ClientCredential__ClientSecret: options.secret ?? 'the-client-secret',
    },
    'Fhir',
    resourceOrigin,
  );
  const provider = createAuthorizationProvider(config, resourceOrigin, options.http ? { http: options.http } : {});
  return provider.authorizationFor(resourceOrigin).then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
}

describe('token endpoint failures: category and location', () => {
  it('an endpoint that cannot be reached is transient, located at the TokenUri setting', async () => {
    const error = await failureOf(`${await refusedOrigin()}/token`);
    assert.ok(error instanceof RetryableError, String(error));
    assert.equal(error.category, 'transient');
    assert.equal(error.location.setting, 'Fhir:Authentication:OAuth2ClientCredential:TokenUri');
  });

  it('a 5xx and a success without a token are transient too', async () => {
    for (const [status, body] of [
      [503, { error: 'temporarily_unavailable' }],
      [200, { token_type: 'Bearer' }],
    ] as const) {
      const error = await failureOf(await endpointAnswering(status, body));
      assert.ok(error instanceof RetryableError, String(error));
      assert.equal(error.category, 'transient');
    }
  });

  it('300 is not a success, whatever its body', async () => {
    const error = await failureOf(await endpointAnswering(300, { access_token: 'multiple-choices-0123' }));
    assert.ok(error instanceof NonRetryableError, String(error));
    assert.match(error.message, /HTTP 300 \(setting/);
  });

  it('a refusal is a refusal with any HTTP client passed in, also one that throws on 4xx by default', async () => {
    const error = await failureOf(await endpointAnswering(401, { error: 'invalid_client' }), { http: axios.create() });
    assert.ok(error instanceof NonRetryableError, String(error));
    assert.match(error.message, /HTTP 401 invalid_client/);
  });

  it('a short secret echoed by the endpoint is starred out, not just dropped', async () => {
    const secret = 'abc123';
    const error = await failureOf(
      await endpointAnswering(400, { error: 'invalid_client', error_description: `secret ${secret} is wrong` }),
      { secret },
    );
    assert.ok(error instanceof NonRetryableError);
    assert.match(error.message, /invalid_client: secret \*\*\* is wrong/);
  });
});
