import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy on loopback, put in front of a server to see the product wait out what real
 * servers do under load (`npm run local -- --fhir-chaos ...` and test/hostile/transport*.test.ts). Each request
 * is, at the given rates: answered 429 with `Retry-After` and `x-ms-retry-after-ms` (not forwarded); answered 503
 * (not forwarded); reset before forwarding; or forwarded and then its response lost (the socket is destroyed
 * after the server processed it). Everything else is forwarded unchanged. GET /metadata is never faulted.
 */
export interface ChaosRates {
  throttle?: number;
  unavailable?: number;
  reset?: number;
  lost?: number;
}

export type ChaosFault = keyof ChaosRates;

export interface ChaosProxy {
  /** The proxy's origin; a path is forwarded as it is to the target's origin. */
  origin: string;
  setTarget(origin: string): void;
  stats(): { requests: number; forwarded: number } & Record<ChaosFault, number>;
  close(): Promise<void>;
}

/** `429=0.3,503=0.05,reset=0.03,lost=0.02` → rates; throws naming the part it cannot read. */
export function parseChaosSpec(spec: string): ChaosRates {
  const names: Record<string, ChaosFault> = { '429': 'throttle', '503': 'unavailable', reset: 'reset', lost: 'lost' };
  const rates: ChaosRates = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [key = '', value = ''] = part.split('=');
    const fault = names[key.trim()];
    const rate = Number(value);
    if (!fault || !(rate >= 0 && rate <= 1))
      throw new Error(`--fhir-chaos: cannot read "${part}" (429|503|reset|lost=0..1)`);
    rates[fault] = rate;
  }
  return rates;
}

/** A small seeded PRNG (mulberry32), so a chaos run can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startChaosProxy(options: {
  rates: ChaosRates;
  seed?: number;
  target?: string;
}): Promise<ChaosProxy> {
  const random = seeded(options.seed ?? 1);
  let target = options.target;
  const counts = { requests: 0, forwarded: 0, throttle: 0, unavailable: 0, reset: 0, lost: 0 };
  const order: ChaosFault[] = ['throttle', 'unavailable', 'reset', 'lost'];

  const pick = (request: IncomingMessage): ChaosFault | undefined => {
    if (request.method === 'GET' && /\/metadata(\?|$)/.test(request.url ?? '')) return undefined;
    let roll = random();
    for (const fault of order) {
      const rate = options.rates[fault] ?? 0;
      if (roll < rate) return fault;
      roll -= rate;
    }
    return undefined;
  };

  const forward = (request: IncomingMessage, response: ServerResponse, loseResponse: boolean): void => {
    if (!target) {
      response.writeHead(502).end();
      return;
    }
    counts.forwarded += 1;
    const upstream = httpRequest(
      new URL(request.url ?? '/', target),
      { method: request.method, headers: { ...request.headers, host: new URL(target).host } },
      (answer) => {
        if (loseResponse) {
          // The server did the work; the client never hears of it.
          answer.resume();
          answer.on('end', () => request.socket.destroy());
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => request.socket.destroy());
    request.pipe(upstream);
  };

  const server = createServer((request, response) => {
    counts.requests += 1;
    const fault = pick(request);
    if (fault) counts[fault] += 1;
    switch (fault) {
      case 'throttle':
        request.resume();
        response.writeHead(429, {
          'Content-Type': 'application/fhir+json',
          'Retry-After': '1',
          'x-ms-retry-after-ms': String(50 + Math.floor(random() * 450)),
        });
        response.end(
          JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] }),
        );
        return;
      case 'unavailable':
        request.resume();
        response.writeHead(503).end();
        return;
      case 'reset':
        request.socket.destroy();
        return;
      default:
        forward(request, response, fault === 'lost');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    setTarget: (origin) => {
      target = origin;
    },
    stats: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
