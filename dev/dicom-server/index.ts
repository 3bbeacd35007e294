// A local stand-in for the Azure DICOM service: STOW/QIDO/WADO/DELETE, bulk update and the v1/v2 change
// feed, over real Part-10 files kept in a data directory and an in-memory index.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOn } from '../httpServer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { ChangeFeedLog } from './changeFeed.js';
import { DicomService } from './dicomService.js';
import { InstanceStore } from './instanceStore.js';
import { DEFAULT_PARTITION, parseApiPath } from './apiPath.js';
import { sendText } from './httpReplies.js';
import { Api } from './routes.js';
import { TrafficCounter, type Traffic } from './trafficCounter.js';

export { DEFAULT_PARTITION } from './apiPath.js';
export { encodeMultipart, encodeStowBody, parseMultipart } from './multipart.js';

export interface DicomServerOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where the Part-10 files are kept; a temporary directory (removed on close) by default. */
  dataDir?: string;
  /** Change-feed JSON property names; enum values are lower case either way. Default camel. */
  nameCase?: 'camel' | 'pascal';
  /** How many sequence numbers to skip after `seq` (default none), to give the feed gaps. */
  sequenceGaps?: (seq: number) => number;
  /** Time source for change-feed timestamps (which never go back even if the clock does). */
  clock?: () => Date;
  /** Gets each request's Authorization header; false → 401. */
  authorize?: (authorizationHeader: string | undefined) => boolean;
  /**
   * Milliseconds to hold a response after it was computed (default none): the data a client then receives is
   * already old, which is how tests make stale reads race with newer writes.
   */
  responseDelayMs?: (path: string) => number;
}

export interface CurrentInstance {
  partition: string;
  study: string;
  series: string;
  sop: string;
  dataset: DicomJsonDataset;
}

export interface RunningDicomServer {
  /** e.g. http://127.0.0.1:1234, no trailing slash */
  url: string;
  dataDir: string;
  close(): Promise<void>;
  /** STOW in-process; rejects, after storing the good ones, when any file fails. */
  storeFiles(files: Buffer[], partition?: string): Promise<void>;
  /** Each resolves to the number of instances deleted (0 when there was nothing to delete). */
  deleteInstance(study: string, series: string, sop: string, partition?: string): Promise<number>;
  deleteStudy(study: string, partition?: string): Promise<number>;
  /** Resolves to the number of instances updated. */
  bulkUpdate(studyUids: string[], change: DicomJsonDataset, partition?: string): Promise<number>;
  currentInstances(): CurrentInstance[];
  /** HTTP requests received (failed, refused and injected-fault ones included). */
  requestCount(): number;
  /** Requests and response-body bytes by kind ('metadata-study', 'metadata-series', 'changefeed', 'stow', ...). */
  traffic(): Record<string, Traffic>;
  /** Resets requestCount and traffic. */
  resetRequestCount(): void;
  /**
   * The next `count` requests whose path starts with `pathPrefix` (as sent, or with the /vN and partition
   * prefixes removed, e.g. '/changefeed') get `status` and a plain-text body, without being handled.
   */
  failNext(count: number, status: number, pathPrefix?: string): void;
}

interface FaultRule {
  remaining: number;
  status: number;
  pathPrefix: string;
}

export async function startDicomServer(options: DicomServerOptions = {}): Promise<RunningDicomServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dicom-server-')));
  await mkdir(dataDir, { recursive: true });
  const clock = options.clock ?? (() => new Date());
  const store = new InstanceStore(dataDir);
  const feed = new ChangeFeedLog(options.sequenceGaps ?? (() => 0), clock);
  const service = new DicomService(store, feed);
  let url = '';
  const api = new Api({ service, store, feed, nameCase: options.nameCase ?? 'camel', baseUrl: () => url, clock });

  let requests = 0;
  const traffic = new TrafficCounter();
  const faults: FaultRule[] = [];
  const injectedFault = (pathname: string): FaultRule | undefined => {
    let stripped = pathname;
    try {
      stripped = `/${parseApiPath(pathname).segments.join('/')}`;
    } catch {
      // a malformed path matches only as sent; the API answers it with 400
    }
    const rule = faults.find(
      (f) => f.remaining > 0 && (pathname.startsWith(f.pathPrefix) || stripped.startsWith(f.pathPrefix)),
    );
    if (rule && --rule.remaining === 0) faults.splice(faults.indexOf(rule), 1);
    return rule;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    requests++;
    const requestUrl = new URL(request.url ?? '/', 'http://localhost');
    traffic.observe(request, response, requestUrl.pathname);
    const fault = injectedFault(requestUrl.pathname);
    if (fault) {
      request.resume();
      return sendText(response, fault.status, `Injected fault ${fault.status}`);
    }
    if (options.authorize && !options.authorize(request.headers.authorization)) {
      request.resume();
      response.setHeader('www-authenticate', 'Bearer');
      return sendText(response, 401, 'Unauthorized');
    }
    const delay = options.responseDelayMs?.(requestUrl.pathname) ?? 0;
    if (delay > 0) holdResponse(response, delay);
    await api.handle(request, response, requestUrl);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => sendText(response, 500, String(error)));
  });
  // Idle connections are kept longer than the app's agent keeps them (5 s, shared/http/serverHttpClient.ts), as a
  // service behind Azure's front ends keeps them for minutes: the client closes first, and a busy sync reuses its
  // connections instead of opening one per request (1 s here made 63 connections for 30 studies; 30 s, 14).
  server.keepAliveTimeout = 30_000;
  url = await listenOn(server, options.port, options.host);

  return {
    url,
    dataDir,
    async close() {
      await closeServer(server);
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
    async storeFiles(files, partition = DEFAULT_PARTITION) {
      const outcome = await service.storeFiles(partition, files);
      if (outcome.failed.length > 0) {
        const reasons = outcome.failed.map((f) => `${f.sop ?? '(no SOP Instance UID)'}: ${f.reason}`).join(', ');
        throw new Error(`${outcome.failed.length} of ${files.length} files were not stored: ${reasons}`);
      }
    },
    deleteInstance: (study, series, sop, partition = DEFAULT_PARTITION) =>
      service.delete(partition, study, series, sop),
    deleteStudy: (study, partition = DEFAULT_PARTITION) => service.delete(partition, study),
    bulkUpdate: (studyUids, change, partition = DEFAULT_PARTITION) => service.bulkUpdate(partition, studyUids, change),
    currentInstances: () =>
      [...store.all()].map(({ partition, study, series, sop, dataset }) => ({
        partition,
        study,
        series,
        sop,
        dataset,
      })),
    requestCount: () => requests,
    traffic: () => traffic.snapshot(),
    resetRequestCount: () => {
      requests = 0;
      traffic.reset();
    },
    failNext(count, status, pathPrefix = '/') {
      if (count > 0) faults.push({ remaining: count, status, pathPrefix });
    },
  };
}

/** Delays `end` (headers and body go together) so the response leaves `delayMs` after it was computed. */
function holdResponse(response: ServerResponse, delayMs: number): void {
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  response.end = ((...args: unknown[]) => {
    setTimeout(() => end(...args), delayMs);
    return response;
  }) as ServerResponse['end'];
}
