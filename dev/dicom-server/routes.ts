// The DICOMweb and change-feed HTTP API of the stand-in server.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { toEntry, toPascalCase, type ChangeFeedLog, type FeedRow } from './changeFeed.js';
import { InvalidRequestError, type DicomService, type StoreOutcome } from './dicomService.js';
import type { InstanceStore, StoredInstance } from './instanceStore.js';
import { contentTypeParameter, encodeMultipart, mediaType, parseMultipart } from './multipart.js';
import { isValidUid } from './part10.js';
import {
  INSTANCE_KEYS,
  instanceAttributes,
  page,
  parseQidoQuery,
  SERIES_KEYS,
  seriesAttributes,
  STUDY_KEYS,
  studyAttributes,
} from './qido.js';
import { QueryParameters } from './queryParameters.js';
import { errorMessage } from '../../shared/lib/errorDetails.js';

export const DEFAULT_PARTITION = 'Microsoft.Default';
const PARTITION_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const DICOM_JSON = 'application/dicom+json';

export interface ApiContext {
  service: DicomService;
  store: InstanceStore;
  feed: ChangeFeedLog;
  nameCase: 'camel' | 'pascal';
  baseUrl(): string;
  clock(): Date;
}

/** Where a request points: the optional version and partition prefixes stripped off. */
export interface ApiPath {
  /** e.g. '/v2' or '' */
  versionPrefix: string;
  version: number | undefined;
  partition: string;
  /** e.g. '/partitions/p1' or '' */
  partitionPrefix: string;
  segments: string[];
}

export function parseApiPath(pathname: string): ApiPath {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  let versionPrefix = '';
  let version: number | undefined;
  const versionMatch = /^v(\d+)(\.\d+)?(-prerelease)?$/i.exec(segments[0] ?? '');
  if (versionMatch) {
    versionPrefix = `/${segments.shift()}`;
    version = Number(versionMatch[1]);
  }
  let partition = DEFAULT_PARTITION;
  let partitionPrefix = '';
  if (segments[0] === 'partitions' && segments.length >= 2) {
    partition = decodeURIComponent(segments[1]!);
    partitionPrefix = `/partitions/${segments[1]}`;
    segments.splice(0, 2);
  }
  return { versionPrefix, version, partition, partitionPrefix, segments: segments.map(decodeURIComponent) };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  private readonly operations = new Map<string, Record<string, unknown>>();

  constructor(private readonly context: ApiContext) {}

  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    try {
      await this.route(request, response, url);
    } catch (error) {
      if (error instanceof HttpError) sendText(response, error.status, error.message);
      else if (error instanceof InvalidRequestError || error instanceof URIError)
        sendText(response, 400, error.message);
      else sendText(response, 500, errorMessage(error));
    }
  }

  private async route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = parseApiPath(url.pathname);
    const query = new QueryParameters(url.searchParams);
    const method = request.method ?? 'GET';
    const s = path.segments;
    if (!PARTITION_PATTERN.test(path.partition))
      throw new HttpError(400, `Invalid partition name '${path.partition}'.`);

    if (s[0] === 'changefeed' && path.partitionPrefix === '') {
      allow(method, 'GET');
      const v2 = (path.version ?? 1) >= 2;
      if (s.length === 1) return this.changeFeed(response, query, v2);
      if (s.length === 2 && s[1] === 'latest') return this.latest(response, query);
    }
    if (s[0] === 'operations' && s.length === 2) {
      allow(method, 'GET');
      const operation = this.operations.get(s[1]!);
      if (!operation) throw new HttpError(404, 'Operation not found.');
      return sendJson(response, 200, operation, 'application/json');
    }
    if (s[0] !== 'studies') throw new HttpError(404, 'Resource not found.');
    for (const uid of s.filter((_, i) => i % 2 === 1)) {
      if (uid !== '$bulkUpdate' && !isValidUid(uid)) throw new HttpError(400, `Invalid UID '${uid}'.`);
    }
    const [, study, level2, series, level4, sop] = s;

    if (study === '$bulkUpdate' && s.length === 2) {
      allow(method, 'POST');
      return this.bulkUpdate(request, response, path);
    }
    if (s.length === 1 || (s.length === 2 && method === 'POST')) {
      allow(method, 'GET', 'POST');
      if (method === 'POST') return this.stow(request, response, path, study);
      return this.queryStudies(response, query, path.partition);
    }
    if (study === undefined) throw new HttpError(404, 'Resource not found.');
    if (level2 === 'series' && s.length === 3) {
      allow(method, 'GET');
      return this.querySeries(response, query, path.partition, study);
    }
    if (level2 === 'instances' && s.length === 3) {
      allow(method, 'GET');
      return this.queryInstances(response, query, this.context.store.select(path.partition, study));
    }
    if (level2 === 'series' && level4 === 'instances' && s.length === 5 && series !== undefined) {
      allow(method, 'GET');
      return this.queryInstances(response, query, this.context.store.select(path.partition, study, series));
    }
    const resource = resourceOf(s);
    if (!resource) throw new HttpError(404, 'Resource not found.');
    const selectedSeries = resource.depth >= 2 ? series : undefined;
    const selectedSop = resource.depth >= 3 ? sop : undefined;
    if (resource.metadata) {
      allow(method, 'GET');
      return this.metadata(response, this.context.store.select(path.partition, study, selectedSeries, selectedSop));
    }
    allow(method, 'GET', 'DELETE');
    if (method === 'DELETE') {
      const deleted = await this.context.service.delete(path.partition, study, selectedSeries, selectedSop);
      if (deleted === 0) throw new HttpError(404, 'The specified resource was not found.');
      response.writeHead(204).end();
      return;
    }
    const instances = this.context.store.select(path.partition, study, selectedSeries, selectedSop);
    return this.retrieve(request, response, instances, resource.depth === 3);
  }

  private changeFeed(response: ServerResponse, query: QueryParameters, v2: boolean): void {
    const includeMetadata = query.boolean('includeMetadata', true);
    let rows: FeedRow[];
    if (v2) {
      const start = query.dateTime('startTime') ?? Number.NEGATIVE_INFINITY;
      const end = query.dateTime('endTime') ?? Number.POSITIVE_INFINITY;
      if (start >= end) throw new InvalidRequestError('startTime must be before endTime.');
      const offset = query.integer('offset', 0, 0, Number.MAX_SAFE_INTEGER);
      rows = this.context.feed.timeWindow(start, end, offset, query.integer('limit', 100, 1, 200));
    } else {
      const offset = query.integer('offset', 0, 0, Number.MAX_SAFE_INTEGER);
      rows = this.context.feed.sequenceWindow(offset, query.integer('limit', 10, 1, 100));
    }
    sendJson(
      response,
      200,
      rows.map((row) => this.named(toEntry(row, includeMetadata))),
      'application/json',
    );
  }

  /** With an empty feed the reply is `{"sequence": 0}` and nothing else. */
  private latest(response: ServerResponse, query: QueryParameters): void {
    const includeMetadata = query.boolean('includeMetadata', true);
    const row = this.context.feed.latest();
    sendJson(response, 200, this.named(row ? toEntry(row, includeMetadata) : { sequence: 0 }), 'application/json');
  }

  private named(entry: object): object {
    return this.context.nameCase === 'pascal' ? toPascalCase(entry) : entry;
  }

  private async stow(request: IncomingMessage, response: ServerResponse, path: ApiPath, study?: string) {
    const type = mediaType(request.headers['content-type']);
    const body = await readBody(request);
    let files: Buffer[];
    if (type === 'application/dicom') {
      files = [body];
    } else if (type === 'multipart/related') {
      const boundary = contentTypeParameter(request.headers['content-type'] ?? '', 'boundary');
      if (!boundary) throw new HttpError(400, 'The multipart/related request has no boundary.');
      const partType = contentTypeParameter(request.headers['content-type'] ?? '', 'type');
      if (partType && partType.toLowerCase() !== 'application/dicom') {
        throw new HttpError(415, `Unsupported multipart type '${partType}'.`);
      }
      try {
        files = parseMultipart(body, boundary).map((part) => part.body);
      } catch (error) {
        throw new HttpError(400, error instanceof Error ? error.message : 'Malformed multipart body.');
      }
    } else {
      throw new HttpError(415, `Unsupported content type '${type}'.`);
    }
    if (files.length === 0) throw new HttpError(400, 'The request carries no DICOM instances.');
    const outcome = await this.context.service.storeFiles(path.partition, files, study);
    const status = outcome.failed.length === 0 ? 200 : outcome.stored.length === 0 ? 409 : 202;
    sendJson(response, status, this.stowResponse(outcome, path, study), DICOM_JSON);
  }

  private stowResponse(outcome: StoreOutcome, path: ApiPath, study?: string): DicomJsonDataset {
    const root = `${this.context.baseUrl()}${path.versionPrefix}${path.partitionPrefix}`;
    const out: DicomJsonDataset = {};
    const studies = new Set(outcome.stored.map((ref) => ref.study));
    const onlyStudy = study ?? (studies.size === 1 ? [...studies][0] : undefined);
    if (onlyStudy) out['00081190'] = { vr: 'UR', Value: [`${root}/studies/${onlyStudy}`] };
    if (outcome.failed.length > 0) {
      out['00081198'] = {
        vr: 'SQ',
        Value: outcome.failed.map((failed) => ({
          '00081150': uidAttribute(failed.sopClass),
          '00081155': uidAttribute(failed.sop),
          '00081197': { vr: 'US', Value: [failed.reason] },
        })),
      };
    }
    if (outcome.stored.length > 0) {
      out['00081199'] = {
        vr: 'SQ',
        Value: outcome.stored.map((ref) => ({
          '00081150': uidAttribute(ref.sopClass),
          '00081155': uidAttribute(ref.sop),
          '00081190': {
            vr: 'UR',
            Value: [`${root}/studies/${ref.study}/series/${ref.series}/instances/${ref.sop}`],
          },
        })),
      };
    }
    return out;
  }

  private async bulkUpdate(request: IncomingMessage, response: ServerResponse, path: ApiPath): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(request)).toString('utf8'));
    } catch {
      throw new HttpError(400, 'The request body is not JSON.');
    }
    const fields = new Map(
      Object.entries(typeof body === 'object' && body !== null ? body : {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const studies: unknown = fields.get('studyinstanceuids');
    if (
      !Array.isArray(studies) ||
      studies.length === 0 ||
      !studies.every((u) => typeof u === 'string' && isValidUid(u))
    ) {
      throw new HttpError(400, 'studyInstanceUids must be a non-empty array of UIDs.');
    }
    const change = fields.get('changedataset') as DicomJsonDataset;
    const created = this.context.clock().toISOString();
    const updated = await this.context.service.bulkUpdate(path.partition, studies as string[], change);
    const id = randomUUID().replaceAll('-', '');
    this.operations.set(id, {
      operationId: id,
      type: 'update',
      createdTime: created,
      lastUpdatedTime: this.context.clock().toISOString(),
      status: 'succeeded',
      percentComplete: 100,
      results: { studyUpdated: new Set(studies).size, instanceUpdated: updated },
    });
    const href = `${this.context.baseUrl()}${path.versionPrefix}/operations/${id}`;
    sendJson(response, 202, { id, href }, 'application/json');
  }

  private queryStudies(response: ServerResponse, query: QueryParameters, partition: string): void {
    const qido = parseQidoQuery(query, STUDY_KEYS);
    sendQido(response, page(this.context.store.studies(partition).values(), qido, studyAttributes));
  }

  private querySeries(response: ServerResponse, query: QueryParameters, partition: string, study: string): void {
    const qido = parseQidoQuery(query, SERIES_KEYS);
    const seriesOfStudy = this.context.store.study(partition, study)?.values() ?? [];
    sendQido(response, page(seriesOfStudy, qido, seriesAttributes));
  }

  private queryInstances(response: ServerResponse, query: QueryParameters, instances: StoredInstance[]): void {
    sendQido(response, page(instances, parseQidoQuery(query, INSTANCE_KEYS), instanceAttributes));
  }

  private metadata(response: ServerResponse, instances: StoredInstance[]): void {
    if (instances.length === 0) throw new HttpError(404, 'The specified resource was not found.');
    sendJson(
      response,
      200,
      instances.map((instance) => instance.dataset),
      DICOM_JSON,
    );
  }

  /** WADO-RS retrieve: multipart/related by default; one instance may also be asked for as bare application/dicom. */
  private async retrieve(
    request: IncomingMessage,
    response: ServerResponse,
    instances: StoredInstance[],
    single: boolean,
  ) {
    if (instances.length === 0) throw new HttpError(404, 'The specified resource was not found.');
    let files: Buffer[];
    try {
      files = await Promise.all(instances.map((instance) => this.context.store.readFile(instance)));
    } catch {
      throw new HttpError(404, 'The specified resource was not found.');
    }
    const accept = (request.headers.accept ?? '').toLowerCase();
    if (single && accept.startsWith('application/dicom') && !accept.includes('multipart')) {
      response.writeHead(200, { 'content-type': 'application/dicom', 'content-length': files[0]!.length });
      response.end(files[0]);
      return;
    }
    const multipart = encodeMultipart(
      files.map((body) => ({ contentType: 'application/dicom', body })),
      'application/dicom',
    );
    response.writeHead(200, { 'content-type': multipart.contentType, 'content-length': multipart.body.length });
    response.end(multipart.body);
  }
}

/** /studies/{s}[/series/{se}[/instances/{i}]][/metadata]: depth 1..3, with or without metadata. */
function resourceOf(s: readonly string[]): { depth: 1 | 2 | 3; metadata: boolean } | undefined {
  const metadata = s.at(-1) === 'metadata';
  const core = metadata ? s.slice(0, -1) : s;
  if (core.length === 2) return { depth: 1, metadata };
  if (core.length === 4 && core[2] === 'series') return { depth: 2, metadata };
  if (core.length === 6 && core[2] === 'series' && core[4] === 'instances') return { depth: 3, metadata };
  return undefined;
}

function allow(method: string, ...methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, `Method ${method} is not allowed here.`);
}

function uidAttribute(uid: string | undefined) {
  return uid ? { vr: 'UI', Value: [uid] } : { vr: 'UI' };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendQido(response: ServerResponse, results: DicomJsonDataset[]): void {
  if (results.length === 0) response.writeHead(204).end();
  else sendJson(response, 200, results, DICOM_JSON);
}

export function sendJson(response: ServerResponse, status: number, body: unknown, contentType: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': `${contentType}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(message),
  });
  response.end(message);
}
