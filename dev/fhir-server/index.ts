import { createServer } from 'node:http';
import { closeServer, listenOn } from '../httpServer.js';
import { BundleProcessor } from './bundles.js';
import { FaultInjector, RequestCounter } from './controls.js';
import { loadR4Definitions } from './definitions.js';
import { FhirHttpHandler } from './http.js';
import { FhirInteractions } from './interactions.js';
import { StorageLock } from './storageLock.js';
import { fhirProfile, type FhirProfileName, type FhirServerProfile } from './profiles.js';
import { ResourceStore } from './store.js';
import { TrafficShaper, type TrafficOptions, type TrafficStats } from './traffic.js';
import { ResourceValidator } from './validation.js';
import { omitUndefined } from '../../shared/lib/omitUndefined.js';

export { FHIR_PROFILE_NAMES, FHIR_PROFILES, fhirProfile, isFhirProfileName } from './profiles.js';
export type { FhirProfileName, FhirServerProfile } from './profiles.js';
export type { TrafficOptions, TrafficStats } from './traffic.js';

export interface FhirServerOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Called with the Authorization header of every request except GET /metadata; false answers 401. */
  authorize?: (authorizationHeader: string | undefined) => boolean;
  /**
   * Simulated storage latency (ms) for every read, write and search. Without it the in-memory engine never
   * yields mid-request, so races that a real server would expose cannot happen; concurrency tests set it.
   */
  storageLatencyMs?: number;
  /**
   * Which real server to behave like where they differ (see profiles.ts and README.md): `medplum` (default, the
   * kindest), `azure` (Azure Health Data Services FHIR service) or `hapi` (HAPI FHIR JPA server defaults).
   */
  profile?: FhirProfileName;
  /** Single behaviours changed on top of the profile, to find which one a failure depends on. */
  profileOverrides?: Partial<Omit<FhirServerProfile, 'name'>>;
  /** Throttling (429) and transient faults by rate; off by default. Change later with `setTraffic`. */
  traffic?: TrafficOptions;
  /**
   * `azure` profile: how long a transaction waits after its conditional-create pre-pass search and after the
   * search at execution (default 5 ms), the window in which concurrent transactions race.
   */
  raceWindowMs?: number;
}

export interface RunningFhirServer {
  /** FHIR base URL without a trailing slash, e.g. http://127.0.0.1:1234/fhir */
  url: string;
  /** The behaviour profile the server runs. */
  profile: FhirServerProfile;
  close(): Promise<void>;
  /** Requests received, including rejected and fault-injected ones. */
  requestCount(): number;
  /** Requests by interaction: capabilities, read, vread, search-type, create, update, delete, transaction, batch, unknown. */
  requestCounts(): Record<string, number>;
  resetRequestCount(): void;
  /** Drops all data (and any pending injected faults). */
  reset(): Promise<void>;
  /** Every current resource of a type, for assertions. */
  all<T>(resourceType: string): Promise<T[]>;
  /** The next `count` requests (except GET /metadata) fail with `status` and are not processed. */
  failNext(count: number, status: number): void;
  /** Replaces the throttling and fault rates (undefined: all off). */
  setTraffic(options: TrafficOptions | undefined): void;
  /** Requests throttled, answered 503, reset, or processed with the response lost, since the server started. */
  trafficStats(): TrafficStats;
}

let sharedValidator: ResourceValidator | undefined;

/**
 * Starts a FHIR R4 server on Medplum's engine: R4 structure and required-binding validation, Medplum's
 * search semantics, conditional create/update, If-Match versioning, all-or-nothing transactions.
 * Every write runs alone under the storage lock (reads run together between writes), so conditional creates are
 * atomic under concurrency, except where the profile says otherwise (`azure`: the conditional-create pre-pass runs
 * outside it).
 */
export async function startFhirServer(options: FhirServerOptions = {}): Promise<RunningFhirServer> {
  loadR4Definitions();
  sharedValidator ??= new ResourceValidator();
  const validator = sharedValidator;
  const store = new ResourceStore(options.storageLatencyMs);
  const lock = new StorageLock();
  const counter = new RequestCounter();
  const faults = new FaultInjector();
  const profile: FhirServerProfile = { ...fhirProfile(options.profile ?? 'medplum'), ...options.profileOverrides };
  const traffic = new TrafficShaper(options.traffic);

  const server = createServer();
  const url = `${await listenOn(server, options.port, options.host)}/fhir`;

  const interactions = new FhirInteractions(store, validator, url, profile);
  const handler = new FhirHttpHandler({
    interactions,
    bundles: new BundleProcessor(interactions, store, url, lock, options.raceWindowMs),
    lock,
    counter,
    faults,
    traffic,
    baseUrl: url,
    ...omitUndefined({ authorize: options.authorize }),
  });
  server.on('request', handler.listener);

  return {
    url,
    profile,
    close: () => closeServer(server),
    requestCount: () => counter.total(),
    requestCounts: () => counter.byInteraction(),
    resetRequestCount: () => counter.reset(),
    reset: () =>
      lock.write(async () => {
        store.clear();
        faults.clear();
      }),
    all: <T>(resourceType: string) => lock.read(async () => (await store.all(resourceType)) as T[]),
    failNext: (count: number, status: number) => faults.failNext(count, status),
    setTraffic: (trafficOptions) => traffic.set(trafficOptions),
    trafficStats: () => ({ ...traffic.stats }),
  };
}
