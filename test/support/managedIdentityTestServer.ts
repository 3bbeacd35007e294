import { randomBytes } from 'node:crypto';
import { listen } from './loopback.js';

export interface IdentityRequest {
  resource: string | null;
  apiVersion: string | null;
  clientId: string | null;
  identityHeader: string | undefined;
}

export interface ManagedIdentityTestServer {
  /** The value for IDENTITY_ENDPOINT. */
  endpoint: string;
  requests: IdentityRequest[];
  issued: Map<string, { resource: string; clientId: string | null }>;
  /** Resources this identity may not get tokens for (answered 400, as App Service does). */
  deniedResources: Set<string>;
  close: () => Promise<void>;
}

/**
 * The App Service / Functions managed identity endpoint (api-version 2019-08-01) on loopback:
 * GET IDENTITY_ENDPOINT?resource=...&api-version=2019-08-01[&client_id=...] with the X-IDENTITY-HEADER secret.
 * Tokens expire an hour after real time, as MSAL judges expiry by the real clock.
 */
export async function startManagedIdentityTestServer(identityHeader: string): Promise<ManagedIdentityTestServer> {
  const requests: IdentityRequest[] = [];
  const issued = new Map<string, { resource: string; clientId: string | null }>();
  const deniedResources = new Set<string>();
  const loopback = await listen((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const header = request.headers['x-identity-header'];
    const received: IdentityRequest = {
      resource: url.searchParams.get('resource'),
      apiVersion: url.searchParams.get('api-version'),
      clientId: url.searchParams.get('client_id'),
      identityHeader: typeof header === 'string' ? header : undefined,
    };
    requests.push(received);
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET' || url.pathname !== '/msi/token') return reply(404, {});
    if (received.identityHeader !== identityHeader) return reply(401, { error: 'unauthorized' });
    if (received.apiVersion !== '2019-08-01' || !received.resource) return reply(400, { error: 'invalid_request' });
    if (deniedResources.has(received.resource)) {
      return reply(400, {
        statusCode: 400,
        message: 'No managed identity can access this resource.',
        correlationId: '7f1c0f5e-0000-0000-0000-000000000000',
      });
    }
    const token = `mi-${randomBytes(16).toString('hex')}`;
    issued.set(token, { resource: received.resource, clientId: received.clientId });
    reply(200, {
      access_token: token,
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource: received.resource,
      token_type: 'Bearer',
      client_id: received.clientId ?? 'system-assigned-client-id',
    });
  });
  return { endpoint: `${loopback.origin}/msi/token`, requests, issued, deniedResources, close: loopback.close };
}

/** Environment variables @azure/identity reads to pick a managed identity source. */
const identityEnvironmentKeys = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT', // would make it Service Fabric
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
  'AZURE_FEDERATED_TOKEN_FILE', // would make it workload identity
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
] as const;

/**
 * Points @azure/identity's App Service source at the loopback identity endpoint (clearing every variable that
 * would pick another source) and returns the function that puts the environment back as it was.
 */
export function useLoopbackManagedIdentity(endpoint: string, identityHeader: string): () => void {
  const saved = new Map<string, string | undefined>();
  for (const key of identityEnvironmentKeys) {
    saved.set(key, process.env[key]);
    delete process.env[key];
  }
  process.env.IDENTITY_ENDPOINT = endpoint;
  process.env.IDENTITY_HEADER = identityHeader;
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
