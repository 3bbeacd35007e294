import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { listen, readBody } from './loopback.js';

/** What the token endpoint insists on. An absent field must also be absent from the request. */
export interface ExpectedTokenRequest {
  grantType: 'client_credentials' | 'password';
  clientId: string;
  /** Undefined (or absent): the request must carry no client secret. */
  clientSecret?: string | undefined;
  username?: string;
  password?: string;
  scope?: string;
  resource?: string;
}

export interface OAuth2TestServerOptions {
  expected: ExpectedTokenRequest;
  /** The clock tokens are issued and checked against (the test's fake clock). */
  now: () => number;
  format?: 'opaque' | 'jwt';
  /** Token lifetime in seconds. */
  lifetimeSeconds?: number;
  /** Whether the response carries `expires_in` (the JWT `exp` is always set for JWTs). */
  sendExpiresIn?: boolean;
}

export interface OAuth2TestServer {
  /** The token endpoint URL. */
  tokenUri: string;
  /** Every token request received, as form fields (in memory only; never printed). */
  requests: Record<string, string>[];
  /** Set to make every request fail with this status and JSON body until cleared. */
  failure: { status: number; body: unknown } | undefined;
  /** Milliseconds to wait before answering, to let callers pile up. */
  delayMs: number;
  options: OAuth2TestServerOptions;
  issued: string[];
  isValid(token: string): boolean;
  revokeAll(): void;
  close: () => Promise<void>;
}

/** A real OAuth2 token endpoint (RFC 6749 section 4.3 / 4.4) on loopback, strict about what it is sent. */
export async function startOAuth2TestServer(options: OAuth2TestServerOptions): Promise<OAuth2TestServer> {
  const tokens = new Map<string, { expiresAt: number; revoked: boolean }>();

  const state: OAuth2TestServer = {
    tokenUri: '',
    requests: [],
    failure: undefined,
    delayMs: 0,
    options,
    issued: [],
    isValid(token) {
      const entry = tokens.get(token);
      return !!entry && !entry.revoked && options.now() < entry.expiresAt;
    },
    revokeAll() {
      for (const entry of tokens.values()) entry.revoked = true;
    },
    close: async () => undefined,
  };

  const reply = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  const refuse = (response: ServerResponse, error: string, description: string) =>
    reply(response, 400, { error, error_description: description });

  const loopback = await listen((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const form = Object.fromEntries(new URLSearchParams(body));
      state.requests.push(form);
      if (state.delayMs) await new Promise((resolve) => setTimeout(resolve, state.delayMs));

      if (request.method !== 'POST' || request.url !== '/oauth2/token') return reply(response, 404, {});
      if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
        return refuse(response, 'invalid_request', 'The request must be form encoded.');
      }
      if (state.failure) return reply(response, state.failure.status, state.failure.body);

      const expected = options.expected;
      if (form.grant_type !== expected.grantType) {
        return refuse(response, 'unsupported_grant_type', 'The grant type is not supported.');
      }
      if (form.client_id !== expected.clientId || form.client_secret !== expected.clientSecret) {
        return refuse(response, 'invalid_client', 'Client authentication failed: unknown client or wrong secret.');
      }
      if (form.username !== expected.username || form.password !== expected.password) {
        return refuse(response, 'invalid_grant', 'The user name or password is incorrect.');
      }
      if (form.scope !== expected.scope) return refuse(response, 'invalid_scope', 'Unexpected scope.');
      if (form.resource !== expected.resource) return refuse(response, 'invalid_target', 'Unexpected resource.');

      const lifetime = options.lifetimeSeconds ?? 3600;
      const expiresAt = options.now() + lifetime * 1000;
      const token = options.format === 'jwt' ? issueJwt(expiresAt, expected.clientId) : `opaque-${randomHex()}`;
      tokens.set(token, { expiresAt, revoked: false });
      state.issued.push(token);
      reply(response, 200, {
        access_token: token,
        token_type: 'Bearer',
        ...(options.sendExpiresIn === false ? {} : { expires_in: lifetime }),
      });
    })();
  });

  state.tokenUri = `${loopback.origin}/oauth2/token`;
  state.close = loopback.close;
  return state;
}

function randomHex(): string {
  return randomBytes(16).toString('hex');
}

function issueJwt(expiresAt: number, audience: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'RS256', typ: 'JWT' });
  const payload = encode({ aud: audience, exp: Math.floor(expiresAt / 1000), iat: 0, jti: randomHex() });
  return `${header}.${payload}.${randomBytes(32).toString('base64url')}`;
}
