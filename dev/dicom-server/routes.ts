// The DICOMweb and change-feed HTTP API of the stand-in server: routing, and the reply of each route.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DicomJsonDataset } from '../../shared/dicomweb/dicomJson.js';
import { errorMessage } from '../../shared/lib/errorDetails.js';
import { parseApiPath, PARTITION_PATTERN, resourceOf, type ApiPath } from './apiPath.js';
import { toEntry, toPascalCase, type ChangeFeedLog, type FeedRow } from './changeFeed.js';
import { InvalidRequestError, type DicomService } from './dicomService.js';
import { allow, DICOM_JSON, HttpError, readBody, sendJson, sendJsonText, sendQido, sendText } from './httpReplies.js';
import type { InstanceStore, StoredInstance } from './instanceStore.js';
import { encodeMultipart } from './multipart.js';
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
import { readStowFiles, stowResponse } from './stow.js';

export interface ApiContext {
  service: DicomService;
  store: InstanceStore;
  feed: ChangeFeedLog;
  nameCase: 'camel' | 'pascal';
  baseUrl(): string;
  clock(): Date;
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
    const files = await readStowFiles(request);
    const outcome = await this.context.service.storeFiles(path.partition, files, study);
    const status = outcome.failed.length === 0 ? 200 : outcome.stored.length === 0 ? 409 : 202;
    const root = `${this.context.baseUrl()}${path.versionPrefix}${path.partitionPrefix}`;
    sendJson(response, status, stowResponse(outcome, root, study), DICOM_JSON);
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
    sendJsonText(response, 200, `[${instances.map(metadataJson).join(',')}]`, DICOM_JSON);
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

/**
 * One instance's metadata as JSON, serialized once: the Azure DICOM service keeps each instance's metadata as a JSON
 * document of its own and concatenates them per request; serializing every study again on every read would make the
 * stand-in, not the client, the cost a bench measures. A dataset is never changed in place (an update stores a new
 * one), so the text stays right for as long as the dataset lives.
 */
const metadataTexts = new WeakMap<DicomJsonDataset, string>();

function metadataJson(instance: StoredInstance): string {
  let text = metadataTexts.get(instance.dataset);
  if (text === undefined) {
    text = JSON.stringify(instance.dataset);
    metadataTexts.set(instance.dataset, text);
  }
  return text;
}
