import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface VaultSecret {
  name: string;
  value: string;
  enabled?: boolean;
  expires?: Date;
  notBefore?: Date;
  contentType?: string;
}

export interface VaultRequest {
  method: string;
  path: string;
  apiVersion: string | null;
  /** The bearer token sent, if any (kept in memory for assertions; never printed). */
  token: string | undefined;
}

export interface KeyVaultTestServerOptions {
  cert: string;
  key: string;
  /** Judges the bearer token of each request; a missing or rejected token gets the 401 challenge. */
  isValidToken: (token: string) => boolean;
  tenantId?: string;
  /** Secrets per list page (default 2), so that a few secrets already need nextLink paging. */
  pageSize?: number;
}

export interface KeyVaultTestServer {
  /** https://127.0.0.1:<port> */
  url: string;
  tenantId: string;
  secrets: Map<string, VaultSecret>;
  requests: VaultRequest[];
  /**
   * Authenticated requests whose path matches get this answer instead (a refused role, a 503, ...);
   * `reset` drops the connection without an answer.
   */
  failure: { status: number; body: unknown; path?: RegExp; reset?: boolean } | undefined;
  /**
   * Authenticated requests whose path matches are answered only after `releaseAfterMs` (a slow read); while one is
   * held, the `failure` answer waits for it, so the failing read surely comes while the slow one is in flight.
   */
  hold: { path: RegExp; releaseAfterMs: number } | undefined;
  /** Held requests the client closed before they were answered. */
  abandoned: number;
  setSecret(secret: VaultSecret): void;
  close: () => Promise<void>;
}

const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * The Key Vault secrets REST API (the parts a configuration loader uses) over HTTPS on loopback:
 * challenge-based auth (an unauthenticated request gets 401 with `WWW-Authenticate: Bearer authorization=..., resource=...`),
 * `GET /secrets` with `nextLink` paging, `GET /secrets/{name}[/{version}]`, 403 SecretDisabled for a disabled secret.
 */
export async function startKeyVaultTestServer(options: KeyVaultTestServerOptions): Promise<KeyVaultTestServer> {
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-2d7cd011db47';
  const pageSize = options.pageSize ?? 2;
  const versions = new Map<string, string>();
  const state: KeyVaultTestServer = {
    url: '',
    tenantId,
    secrets: new Map(),
    requests: [],
    failure: undefined,
    hold: undefined,
    abandoned: 0,
    setSecret(secret) {
      state.secrets.set(secret.name.toLowerCase(), secret);
      versions.set(secret.name.toLowerCase(), randomBytes(16).toString('hex'));
    },
    close: async () => undefined,
  };

  const reply = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify(body));
  };
  const error = (response: ServerResponse, status: number, code: string, message: string, inner?: string) =>
    reply(response, status, { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } });
  const attributes = (secret: VaultSecret) => ({
    enabled: secret.enabled ?? true,
    ...(secret.expires ? { exp: epoch(secret.expires) } : {}),
    ...(secret.notBefore ? { nbf: epoch(secret.notBefore) } : {}),
    created: 1_700_000_000,
    updated: 1_700_000_000,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });

  const server = createServer({ cert: options.cert, key: options.key }, (request, response) => {
    request.resume();
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    const apiVersion = url.searchParams.get('api-version');
    state.requests.push({ method: request.method ?? '', path: url.pathname, apiVersion, token });

    if (token === undefined || !options.isValidToken(token)) {
      response.writeHead(401, {
        'Content-Type': 'application/json; charset=utf-8',
        'WWW-Authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
      });
      response.end(
        JSON.stringify({
          error: {
            code: 'Unauthorized',
            message:
              token === undefined ? 'AKV10000: Request is missing a Bearer or PoP token.' : 'AKV10032: Invalid issuer.',
          },
        }),
      );
      return;
    }
    if (!apiVersion) return error(response, 400, 'BadParameter', 'The api-version query parameter is required.');
    if (state.hold?.path.test(url.pathname)) {
      held++;
      const release = setTimeout(() => answer(request, response, url, apiVersion), state.hold.releaseAfterMs);
      response.on('close', () => {
        clearTimeout(release);
        held--;
        if (!response.writableEnded) state.abandoned++;
      });
      return;
    }
    if (state.failure && (!state.failure.path || state.failure.path.test(url.pathname))) {
      const failure = state.failure;
      const fail = () => {
        if (failure.reset) return request.socket.destroy();
        return reply(response, failure.status, failure.body);
      };
      if (!state.hold) return fail();
      const waitForHeld = () => (held > 0 ? fail() : setTimeout(waitForHeld, 5));
      return waitForHeld();
    }
    return answer(request, response, url, apiVersion);
  });

  let held = 0;
  function answer(request: IncomingMessage, response: ServerResponse, url: URL, apiVersion: string): void {
    if (request.method !== 'GET') return error(response, 405, 'MethodNotAllowed', 'Only GET is served here.');

    const segments = url.pathname.split('/').filter(Boolean);
    if (segments.length === 1 && segments[0] === 'secrets') {
      const all = [...state.secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
      const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
      const page = all.slice(skip, skip + pageSize);
      const next = skip + pageSize < all.length ? skip + pageSize : undefined;
      return reply(response, 200, {
        value: page.map((secret) => ({
          id: `${state.url}/secrets/${secret.name}`,
          attributes: attributes(secret),
          ...(secret.contentType ? { contentType: secret.contentType } : {}),
          tags: {},
        })),
        nextLink:
          next === undefined
            ? null
            : `${state.url}/secrets?api-version=${apiVersion}&$skiptoken=${next}&maxresults=${pageSize}`,
      });
    }
    if (segments[0] === 'secrets' && (segments.length === 2 || segments.length === 3) && segments[1]) {
      const name = decodeURIComponent(segments[1]);
      const secret = state.secrets.get(name.toLowerCase());
      const version = versions.get(name.toLowerCase());
      if (!secret || (segments[2] !== undefined && segments[2] !== version)) {
        return error(
          response,
          404,
          'SecretNotFound',
          `A secret with (name/id) ${name} was not found in this key vault.`,
        );
      }
      if (secret.enabled === false) {
        return error(
          response,
          403,
          'Forbidden',
          'Operation get is not allowed on a disabled secret.',
          'SecretDisabled',
        );
      }
      return reply(response, 200, {
        value: secret.value,
        id: `${state.url}/secrets/${secret.name}/${version}`,
        attributes: attributes(secret),
        ...(secret.contentType ? { contentType: secret.contentType } : {}),
        tags: {},
      });
    }
    return error(response, 404, 'NotFound', 'The requested resource was not found.');
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `https://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** Key Vault's 403 for an identity without a data-plane role (RBAC vault). */
export const forbiddenByRbac = {
  error: {
    code: 'Forbidden',
    message:
      'Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
      "Caller: appid=00000000-0000-0000-0000-000000000000;oid=11111111-1111-1111-1111-111111111111\r\nAction: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'\r\nDecisionReason: 'DeniedWithNoValidRBAC'",
    innererror: { code: 'ForbiddenByRbac' },
  },
};
