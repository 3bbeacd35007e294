import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, readBody } from '../../support/loopback.js';

/** What a scripted loopback server does with one request. */
export type Answer =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** The connection is destroyed before anything is answered. */
  | 'reset'
  /** The request is read (and counted as processed), then the connection is destroyed: the response is lost. */
  | 'lost'
  | ((request: IncomingMessage, response: ServerResponse, body: string) => void);

export interface ScriptedServer {
  origin: string;
  /** Every request received: method, path with query, body, Authorization header. */
  requests: { method: string; url: string; body: string; authorization?: string }[];
  close(): Promise<void>;
}

/** A server on 127.0.0.1 that answers the n-th request with `script[n]` (the last entry repeats). */
export async function scriptedServer(script: Answer[]): Promise<ScriptedServer> {
  const requests: ScriptedServer['requests'] = [];
  const server = await listen((request, response) => {
    void readBody(request).then((body) => {
      const answer = script[Math.min(requests.length, script.length - 1)];
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        body,
        ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      });
      if (answer === undefined || answer === 'reset' || answer === 'lost') {
        request.socket.destroy();
        return;
      }
      if (typeof answer === 'function') {
        answer(request, response, body);
        return;
      }
      response.writeHead(answer.status, { 'Content-Type': 'application/fhir+json', ...answer.headers });
      response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  return { origin: server.origin, requests, close: server.close };
}

export const emptySearch = { resourceType: 'Bundle', type: 'searchset', entry: [] };

/** A transaction-response answering each entry of `request` with `status`. */
export function transactionResponse(statuses: string[]): unknown {
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: statuses.map((status) => ({ response: { status } })),
  };
}
