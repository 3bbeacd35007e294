import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { BundleProcessor } from './bundles.js';
import { capabilityStatement } from './capabilities.js';
import type { FaultInjector, RequestCounter } from './controls.js';
import type { FhirInteractions, WriteResult } from './interactions.js';
import type { StorageLock } from './storageLock.js';
import { fhirError, operationOutcome, toFhirError } from './outcomes.js';
import { classify, header, isBundle, isRead, parseRequest, requireBody, type ParsedRequest } from './parsedRequest.js';
import { parseIfMatch } from './requestUrl.js';
import type { TrafficShaper } from './traffic.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export interface HttpHandlerOptions {
  interactions: FhirInteractions;
  bundles: BundleProcessor;
  lock: StorageLock;
  counter: RequestCounter;
  faults: FaultInjector;
  traffic: TrafficShaper;
  /** e.g. http://127.0.0.1:1234/fhir */
  baseUrl: string;
  authorize?: (authorizationHeader: string | undefined) => boolean;
}

interface Reply {
  status: number;
  body?: Resource;
  headers?: Record<string, string>;
}

/** Serves FHIR's RESTful API over node:http: routing, auth, fault injection and counting around the interactions. */
export class FhirHttpHandler {
  private readonly basePath: string;

  constructor(private readonly options: HttpHandlerOptions) {
    this.basePath = new URL(options.baseUrl).pathname;
  }

  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((error: unknown) => {
      const failure = toFhirError(error);
      send(res, { status: failure.status, body: failure.outcome });
    });
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname !== this.basePath && !pathname.startsWith(`${this.basePath}/`)) {
      this.options.counter.count('unknown');
      send(res, { status: 404, body: operationOutcome('not-found', `No FHIR endpoint at ${pathname}`) });
      return;
    }
    const request = await parseRequest(req, this.basePath, this.options.baseUrl);
    const interaction = classify(request);
    this.options.counter.count(interaction);
    if (interaction !== 'capabilities') {
      if (this.options.authorize && !this.options.authorize(req.headers.authorization)) {
        send(res, {
          status: 401,
          body: operationOutcome('login', 'Missing or invalid Authorization header'),
          headers: { 'WWW-Authenticate': 'Bearer' },
        });
        return;
      }
      const faultStatus = this.options.faults.take();
      if (faultStatus !== undefined) {
        send(res, {
          status: faultStatus,
          body: operationOutcome(faultStatus === 429 ? 'throttled' : 'transient', `Injected fault (${faultStatus})`),
          headers: faultStatus === 429 || faultStatus === 503 ? { 'Retry-After': '0' } : {},
        });
        return;
      }
    }
    const verdict = interaction === 'capabilities' ? { kind: 'process' as const } : this.options.traffic.decide();
    switch (verdict.kind) {
      case 'throttle':
        send(res, this.throttled(verdict.retryAfterMs));
        return;
      case 'unavailable':
        send(res, { status: 503, body: operationOutcome('transient', 'Service unavailable (simulated)') });
        return;
      case 'reset':
        req.socket.destroy();
        return;
      default:
        break;
    }
    let reply: Reply;
    try {
      reply = isBundle(interaction)
        ? await this.dispatch(request)
        : await this.options.lock[isRead(interaction) ? 'read' : 'write'](() => {
            this.options.interactions.beginRequest(request.id);
            return this.dispatch(request);
          });
    } catch (error) {
      const failure = toFhirError(error);
      reply = { status: failure.status, body: failure.outcome };
    }
    if (verdict.kind === 'lose-response') {
      req.socket.destroy();
      return;
    }
    send(res, { ...reply, headers: { ...reply.headers, 'X-Request-ID': request.id } });
  }

  private throttled(retryAfterMs: number): Reply {
    return {
      status: 429,
      body: operationOutcome('throttled', 'The request rate is too high (simulated throttling)'),
      headers: {
        'Retry-After': String(Math.ceil(retryAfterMs / 1000)),
        ...(this.options.interactions.profile.retryAfterMsHeader
          ? { 'x-ms-retry-after-ms': String(retryAfterMs) }
          : {}),
      },
    };
  }

  private async dispatch(request: ParsedRequest): Promise<Reply> {
    const { interactions, bundles, baseUrl } = this.options;
    const { method, path } = request;
    const [resourceType, id, , versionId] = path.segments;
    const prefer = header(request.headers.prefer) ?? '';
    const rawIfMatch = header(request.headers['if-match']);
    const ifMatch = rawIfMatch === undefined ? undefined : parseIfMatch(rawIfMatch, interactions.profile.ifMatchSyntax);
    const interaction = classify(request);
    switch (interaction) {
      case 'capabilities':
        return { status: 200, body: capabilityStatement(baseUrl, interactions.profile) };
      case 'transaction':
      case 'batch':
        return {
          status: 200,
          body: await bundles.process(requireBody(request) as Bundle, request.id, prefer.includes('return=minimal')),
        };
      case 'search-type': {
        const query = new URLSearchParams(path.query);
        if (method === 'POST') {
          new URLSearchParams(request.rawBody).forEach((value, key) => query.append(key, value));
        }
        const lenient = prefer.includes('handling=lenient');
        return {
          status: 200,
          body:
            resourceType === undefined
              ? await interactions.searchBase(query, lenient)
              : await interactions.search(resourceType, query, lenient),
        };
      }
      case 'read':
        return this.resourceReply(200, await interactions.read(resourceType as string, id as string));
      case 'vread':
        return this.resourceReply(
          200,
          await interactions.vread(resourceType as string, id as string, versionId as string),
        );
      case 'create':
        return this.writeReply(
          await interactions.create(requireBody(request, resourceType), {
            ifNoneExist: header(request.headers['if-none-exist']),
          }),
          prefer,
        );
      case 'update':
        return this.writeReply(
          id === undefined
            ? await interactions.conditionalUpdate(
                resourceType as string,
                path.rawQuery,
                requireBody(request, resourceType),
              )
            : await interactions.update(resourceType as string, id, requireBody(request, resourceType), ifMatch),
          prefer,
        );
      case 'delete':
        await interactions.deleteOne(resourceType as string, id as string, ifMatch);
        return { status: 204 };
    }
    throw fhirError(405, 'not-supported', `${method} ${this.basePath}/${path.segments.join('/')} is not supported`);
  }

  private resourceReply(status: number, resource: Resource): Reply {
    const headers: Record<string, string> = {
      ETag: `W/"${resource.meta?.versionId}"`,
      'Last-Modified': new Date(resource.meta?.lastUpdated ?? Date.now()).toUTCString(),
    };
    return { status, headers, body: resource };
  }

  private writeReply({ status, resource }: WriteResult, prefer: string): Reply {
    const reply = this.resourceReply(status, resource);
    const { baseUrl } = this.options;
    reply.headers = {
      ...reply.headers,
      Location: `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`,
    };
    if (!prefer.includes('return=minimal')) return reply;
    const { body: _body, ...minimal } = reply;
    return minimal;
  }
}

function send(res: ServerResponse, { status, body, headers }: Reply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const payload = body === undefined ? undefined : JSON.stringify(body satisfies Resource | OperationOutcome);
  res.writeHead(status, {
    ...headers,
    ...(payload === undefined ? {} : { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(payload) }),
  });
  res.end(payload);
}
