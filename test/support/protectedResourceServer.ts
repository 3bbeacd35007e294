import { listen, readBody } from './loopback.js';

export interface ReceivedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

export interface ProtectedResourceServer {
  origin: string;
  requests: ReceivedRequest[];
  close: () => Promise<void>;
}

/**
 * A resource server that answers 200 only to a valid bearer token (as judged by `isValid`) and 401 otherwise,
 * with a WWW-Authenticate header as RFC 6750 asks.
 */
export async function startProtectedResourceServer(
  isValid: (token: string) => boolean,
): Promise<ProtectedResourceServer> {
  const requests: ReceivedRequest[] = [];
  const loopback = await listen((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const authorization = request.headers.authorization;
      requests.push({ method: request.method ?? '', url: request.url ?? '', authorization, body });
      const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
      if (token === undefined || !isValid(token)) {
        response.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        response.end();
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ ok: true, path: request.url }));
    })();
  });
  return { origin: loopback.origin, requests, close: loopback.close };
}
