import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BacklogFeed {
  url: string;
  rows: number;
  lastSequence: number;
  lastTimestamp: string;
  close(): Promise<void>;
}

/**
 * A v2 change feed holding a large backlog, answering each page in O(log n + page) so that the poller, not the
 * test server, is what a 100,000-entry test measures. Rows are grouped by study and share timestamps in tens.
 */
export async function startBacklogFeed(options: { rows: number; studies: number }): Promise<BacklogFeed> {
  const perStudy = Math.ceil(options.rows / options.studies);
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  const timestampOf = (index: number) => new Date(base + Math.floor(index / 10)).toISOString();
  const row = (index: number) => {
    const study = Math.floor(index / perStudy);
    return {
      sequence: index + 1,
      partitionName: 'Microsoft.Default',
      studyInstanceUid: `1.2.826.0.1.3680043.10.1.${study}`,
      seriesInstanceUid: `1.2.826.0.1.3680043.10.1.${study}.1`,
      sopInstanceUid: `1.2.826.0.1.3680043.10.1.${study}.1.${index}`,
      action: 'create',
      timestamp: timestampOf(index),
      state: 'current',
    };
  };
  const firstAtOrAfter = (time: number) => {
    let low = 0;
    let high = options.rows;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (base + Math.floor(middle / 10) < time) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const send = (body: unknown) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/v2/changefeed/latest') return send(row(options.rows - 1));
    if (url.pathname === '/v2/changefeed') {
      const start = firstAtOrAfter(Date.parse(url.searchParams.get('startTime') ?? '1970-01-01T00:00:00Z'));
      const from = start + Number(url.searchParams.get('offset') ?? 0);
      const to = Math.min(options.rows, from + Number(url.searchParams.get('limit') ?? 100));
      const page = [];
      for (let index = from; index < to; index++) page.push(row(index));
      return send(page);
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rows: options.rows,
    lastSequence: options.rows,
    lastTimestamp: timestampOf(options.rows - 1),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
