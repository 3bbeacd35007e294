import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the change-feed part of the Azure DICOM service, with the documented paging:
 * v1 reads a sequence window (offset, offset + limit]; v2 reads rows with timestamp >= startTime ordered by
 * (timestamp, sequence) and skips `offset` of them. Rows are served as stored, so tests can serve bad ones.
 */
export interface StoredRow {
  sequence: number;
  timestamp: string;
  body: unknown;
}

export interface RowSpec {
  sequence: number;
  timestamp: string;
  study: string;
  series?: string;
  sop?: string;
  action?: string;
  state?: string;
  partitionName?: string;
}

export type Casing = 'pascal' | 'camel';

/** A row as the service prints it: PascalCase names (docs) or camelCase (OpenAPI). */
export function feedRow(spec: RowSpec, casing: Casing = 'pascal'): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    Sequence: spec.sequence,
    PartitionName: spec.partitionName ?? 'Microsoft.Default',
    StudyInstanceUid: spec.study,
    SeriesInstanceUid: spec.series ?? `${spec.study}.1`,
    SopInstanceUid: spec.sop ?? `${spec.study}.1.${spec.sequence}`,
    Action: spec.action ?? 'create',
    Timestamp: spec.timestamp,
    State: spec.state ?? 'current',
    FilePath: `files/${spec.sequence}.dcm`,
  };
  if (casing === 'pascal') return fields;
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key[0]!.toLowerCase() + key.slice(1), value]),
  );
}

export interface RequestRecord {
  path: string;
  query: Record<string, string>;
  authorization?: string;
}

export interface FakeChangeFeed {
  baseUrl: string;
  rows: StoredRow[];
  requests: RequestRecord[];
  add(...rows: StoredRow[]): void;
  addSpecs(specs: RowSpec[], casing?: Casing): void;
  /** The next `count` requests answer this status (a body-less error). */
  failNext(status: number, count?: number): void;
  /** The next request answers 200 with these bytes as its body, whatever it asked (crafted, e.g. not UTF-8). */
  answerNext(body: Buffer): void;
  /** Answer for /latest when the feed is empty: the service's `{"sequence":0}`, 204 or 404. */
  emptyLatest: 'zero' | 204 | 404;
  delayMs: number;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startFakeChangeFeed(): Promise<FakeChangeFeed> {
  const failures: number[] = [];
  const crafted: Buffer[] = [];
  const feed: FakeChangeFeed = {
    baseUrl: '',
    rows: [],
    requests: [],
    add: (...rows) => feed.rows.push(...rows),
    addSpecs: (specs, casing) =>
      feed.add(
        ...specs.map((spec) => ({ sequence: spec.sequence, timestamp: spec.timestamp, body: feedRow(spec, casing) })),
      ),
    failNext: (status, count = 1) => failures.push(...Array<number>(count).fill(status)),
    answerNext: (body) => crafted.push(body),
    emptyLatest: 'zero',
    delayMs: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams.entries());
    feed.requests.push({
      path: url.pathname,
      query,
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    });
    const failure = failures.shift();
    if (failure !== undefined) return send(response, failure);
    const craftedBody = crafted.shift();
    if (craftedBody) return void response.writeHead(200, { 'content-type': 'application/json' }).end(craftedBody);

    const bySequence = [...feed.rows].sort((a, b) => a.sequence - b.sequence);
    const number = (name: string, fallback: number) => (query[name] === undefined ? fallback : Number(query[name]));

    if (url.pathname === '/v1/changefeed/latest' || url.pathname === '/v2/changefeed/latest') {
      const last = bySequence.at(-1);
      if (last) return send(response, 200, last.body);
      return feed.emptyLatest === 'zero' ? send(response, 200, { sequence: 0 }) : send(response, feed.emptyLatest);
    }
    if (url.pathname === '/v1/changefeed') {
      const offset = number('offset', 0);
      const limit = number('limit', 10);
      const window = bySequence.filter((row) => row.sequence > offset && row.sequence <= offset + limit);
      return send(
        response,
        200,
        window.map((row) => row.body),
      );
    }
    if (url.pathname === '/v2/changefeed') {
      const start = Date.parse(query.startTime ?? '1970-01-01T00:00:00Z');
      const end = query.endTime ? Date.parse(query.endTime) : Infinity;
      const offset = number('offset', 0);
      const limit = number('limit', 100);
      const ordered = feed.rows
        .filter((row) => Date.parse(row.timestamp) >= start && Date.parse(row.timestamp) < end)
        .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || a.sequence - b.sequence);
      return send(
        response,
        200,
        ordered.slice(offset, offset + limit).map((row) => row.body),
      );
    }
    send(response, 404);
  };

  const server = createServer((request, response) => {
    if (feed.delayMs > 0) setTimeout(() => handle(request, response), feed.delayMs);
    else handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  feed.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return feed;
}

/** The timestamp `second` seconds after a fixed start, printed as the service does (7 fraction digits). */
export function timestampAt(second: number): string {
  const date = new Date(Date.UTC(2024, 0, 1, 0, 0, 0) + second * 1000);
  return date.toISOString().replace(/\.\d{3}Z$/, '.1234567+00:00');
}
