import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseApiPath } from './apiPath.js';

/** Requests and response-body bytes of one kind of request. */
export interface Traffic {
  requests: number;
  bytes: number;
}

/** What a request is, for counting: WADO metadata, change feed, STOW, QIDO, retrieve, delete, or other. */
export function requestKind(method: string, pathname: string): string {
  let segments: string[];
  try {
    segments = parseApiPath(pathname).segments;
  } catch {
    return 'other';
  }
  if (segments[0] === 'changefeed') return 'changefeed';
  if (segments[0] !== 'studies') return 'other';
  if (method === 'POST') return 'stow';
  if (method === 'DELETE') return 'delete';
  if (segments.at(-1) === 'metadata') return segments.length > 3 ? 'metadata-series' : 'metadata-study';
  // /studies, /studies/{s}/series, /studies/{s}/series/{se}/instances are QIDO; other depths retrieve files.
  return segments.length % 2 === 1 ? 'qido' : 'retrieve';
}

/** Counts requests and the bytes of their response bodies (Content-Length), by kind; for benchmarks. */
export class TrafficCounter {
  private readonly byKind = new Map<string, Traffic>();

  observe(request: IncomingMessage, response: ServerResponse, pathname: string): void {
    const traffic = this.entry(requestKind(request.method ?? 'GET', pathname));
    traffic.requests++;
    // Headers given to writeHead are not readable back, so the body is counted as it is written.
    const write = response.write.bind(response) as (...args: unknown[]) => boolean;
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.write = ((chunk: unknown, ...rest: unknown[]) => {
      traffic.bytes += byteLength(chunk);
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    response.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') traffic.bytes += byteLength(chunk);
      return end(chunk, ...rest);
    }) as ServerResponse['end'];
  }

  snapshot(): Record<string, Traffic> {
    return Object.fromEntries([...this.byKind].map(([kind, traffic]) => [kind, { ...traffic }]));
  }

  reset(): void {
    this.byKind.clear();
  }

  private entry(kind: string): Traffic {
    let traffic = this.byKind.get(kind);
    if (!traffic) {
      traffic = { requests: 0, bytes: 0 };
      this.byKind.set(kind, traffic);
    }
    return traffic;
  }
}

function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}
