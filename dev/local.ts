#!/usr/bin/env node
/**
 * `npm run local`: the whole product on one machine, no cloud account.
 * Starts Azurite, the DICOM service stand-in and the FHIR server on loopback (or uses --dicom-url / --fhir-url),
 * stores sample studies, and runs the functions through the handlers the Functions host calls.
 */
import axios from 'axios';
import { parseArgs } from 'node:util';
import { createFhirClient } from '../shared/fhir/fhirClient.js';
import { noAuthorization } from '../shared/auth/index.js';
import { getString, Tag, type DicomJsonDataset } from '../shared/dicomweb/dicomJson.js';
import { FHIR_PROFILE_NAMES, isFhirProfileName, type TrafficOptions } from './fhir-server/index.js';
import { transportStats, type TransportStats } from '../shared/http/retryBudget.js';
import type { QueueHostStats } from './functionsHost/queueTriggerHost.js';
import { startLocalOrthanc, orthancStudyUids, storeSamplesInOrthanc, type LocalOrthanc } from './localOrthanc.js';
import { startLocalStack } from './localStack.js';
import { storeSampleStudies } from './seedSamples.js';
import { formatSummary, summarizeStudies } from './syncSummary.js';
import { errorMessage } from '../shared/lib/errorDetails.js';

const usage = `Usage: npm run local -- [options]
  --once                 one full cycle (poll, then every queued study), print the summary, exit
  --dicom-url URL        use this DICOMweb server (Azure DICOM service API) instead of the embedded one
  --dicom orthanc        run a real Orthanc (Debian's orthanc + orthanc-dicomweb, HTTP Basic on) instead
  --fhir-url URL         use this FHIR R4 server instead of the embedded one
  --fhir-profile NAME    the embedded FHIR server behaves like: medplum (default), azure (Azure Health Data
                         Services FHIR service) or hapi (HAPI FHIR JPA); see dev/fhir-server/README.md
  --fhir-throttle F      answer this fraction (0-1) of FHIR requests with 429 (Retry-After; azure: also
                         x-ms-retry-after-ms)
  --fhir-rate N          answer 429 beyond N FHIR requests per second (a token bucket)
  --fhir-faults F        fail this fraction (0-1) of FHIR requests: half 503, a quarter reset connections, a
                         quarter processed with the response lost
  --storage CONN         use this Storage connection string instead of an embedded Azurite
  --studies N            sample studies to store first (default 3; 0 stores none)
  --servers-only         only run the embedded servers (for \`func start\` with local.settings.json)
  --verbose              print every function log line
  --help`;

const { values } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'dicom-url': { type: 'string' },
    dicom: { type: 'string' },
    'fhir-url': { type: 'string' },
    'fhir-profile': { type: 'string', default: 'medplum' },
    'fhir-throttle': { type: 'string' },
    'fhir-rate': { type: 'string' },
    'fhir-faults': { type: 'string' },
    storage: { type: 'string' },
    studies: { type: 'string', default: '3' },
    'servers-only': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}

const studies = Number(values.studies);
if (!Number.isInteger(studies) || studies < 0) {
  console.error(`--studies must be a whole number, got "${values.studies}"`);
  process.exit(2);
}

const fhirProfile = values['fhir-profile'];
if (!isFhirProfileName(fhirProfile)) {
  console.error(`--fhir-profile must be one of ${FHIR_PROFILE_NAMES.join(', ')}, got "${fhirProfile}"`);
  process.exit(2);
}
const fhirTraffic = trafficOptions();

if (values.dicom !== undefined && values.dicom !== 'orthanc') {
  console.error(`--dicom takes "orthanc" (the default is the embedded stand-in), got "${values.dicom}"`);
  process.exit(2);
}
let local: LocalOrthanc | undefined;
try {
  local = values.dicom === 'orthanc' ? await startLocalOrthanc() : undefined;
} catch (error) {
  console.error(errorMessage(error));
  process.exit(1);
}
const stack = await startLocalStack({
  fhirProfile,
  fhirOptions: { traffic: fhirTraffic },
  ...(local
    ? { dicomUrl: local.orthanc.dicomWebUrl }
    : values['dicom-url']
      ? { dicomUrl: values['dicom-url'] }
      : { dicomPort: 8042 }),
  ...(values['fhir-url'] ? { fhirUrl: values['fhir-url'] } : { fhirPort: 8080 }),
  ...(values.storage ? { storageConnectionString: values.storage } : {}),
  settings: { ...local?.settings, ...definedSettings(process.env) },
});
const closeAll = async (): Promise<void> => {
  await stack.close();
  await local?.orthanc.close();
};

console.log(
  `DICOM server   ${stack.dicomUrl}${stack.dicom ? ' (embedded stand-in of the Azure DICOM service)' : ''}` +
    (local
      ? ` (Orthanc, pid ${local.orthanc.pid()}, user ${local.orthanc.username}, REST API ${local.orthanc.url})`
      : ''),
);
console.log(
  `FHIR server    ${stack.fhirUrl}${stack.fhir ? ` (embedded, @medplum/fhir-router, profile ${fhirProfile})` : ''}`,
);
const { seed: _seed, ...fhirRates } = fhirTraffic;
if (stack.fhir && Object.keys(fhirRates).length > 0) console.log(`FHIR traffic   ${JSON.stringify(fhirRates)}`);
console.log(
  `Storage        ${stack.azurite ? `Azurite on 127.0.0.1:${stack.azurite.ports.queue} (queues)` : 'as given'}`,
);

if (studies > 0 && local) {
  const count = await storeSamplesInOrthanc(local.orthanc, {
    studies,
    seriesPerStudy: 2,
    instancesPerSeries: 3,
    seed: Date.now() % 100_000,
  });
  console.log(`Stored ${count} sample instances in ${studies} studies in Orthanc with STOW-RS`);
} else if (studies > 0) {
  const specs = await storeSampleStudies(stack.dicomUrl, {
    studies,
    seriesPerStudy: 2,
    instancesPerSeries: 3,
    seed: Date.now() % 100_000,
  });
  console.log(`Stored ${specs.length} sample instances in ${studies} studies with STOW-RS`);
}

if (values['servers-only']) {
  console.log('Servers running; point local.settings.json at them and run `func start`. Ctrl-C stops.');
  await waitForSignal();
  await closeAll();
  process.exit(0);
}

const { LocalFunctionsHost } = await importQuietly(() => import('./functionsHost/localFunctionsHost.js'));
const host = new LocalFunctionsHost({
  settings: stack.settings,
  log: (level, functionName, ...args) => {
    if (values.verbose || level === 'error' || level === 'warning') {
      console.log(`[${functionName}] ${level}: ${args.map(String).join(' ')}`);
    }
  },
});
const fhir = createFhirClient({ baseUrl: stack.fhirUrl, authorization: noAuthorization });

async function printSummary(): Promise<void> {
  const studyUids = local ? await orthancStudyUids(local.orthanc) : await listStudies(stack.dicomUrl);
  console.log(formatSummary(await summarizeStudies(fhir, stack.fhirUrl, studyUids)));
}

if (values.once) {
  const started = Date.now();
  await host.runOnce();
  console.log(`One cycle done in ${Date.now() - started} ms`);
  console.log(describeTransport(transportStats(), host.writer.stats));
  await printSummary();
  await closeAll();
  process.exit(0);
}

await host.start();
console.log(`Functions running (timer ${stack.settings.DicomCast__Schedule ?? ''}). Ctrl-C stops.`);
const summaryTimer = setInterval(() => {
  printSummary().catch((error: unknown) => console.error(error));
}, 15_000);
await waitForSignal();
clearInterval(summaryTimer);
await host.stop();
await closeAll();
process.exit(0);

/** --fhir-throttle, --fhir-rate and --fhir-faults as the embedded server's traffic options (exits on bad values). */
function trafficOptions(): TrafficOptions {
  const fraction = (name: 'fhir-throttle' | 'fhir-faults'): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!(value >= 0 && value <= 1)) {
      console.error(`--${name} must be a fraction between 0 and 1, got "${raw}"`);
      process.exit(2);
    }
    return value;
  };
  const throttle = fraction('fhir-throttle');
  const faults = fraction('fhir-faults');
  const rate = values['fhir-rate'] === undefined ? undefined : Number(values['fhir-rate']);
  if (rate !== undefined && !(rate > 0)) {
    console.error(`--fhir-rate must be a positive number of requests per second, got "${values['fhir-rate']}"`);
    process.exit(2);
  }
  return {
    ...(throttle ? { throttleFraction: throttle } : {}),
    ...(rate ? { requestsPerSecond: rate } : {}),
    ...(faults ? { unavailableFraction: faults / 2, resetFraction: faults / 4, lostResponseFraction: faults / 4 } : {}),
    seed: Date.now() % 100_000,
  };
}

/** What the transport waited out and what it left to the queue: the figures of a throttling or fault run. */
function describeTransport(transport: TransportStats, writer: QueueHostStats): string {
  const causes = Object.entries(transport.causes)
    .map(([cause, count]) => `${cause} ${count}`)
    .join(', ');
  return (
    `Transport: ${transport.retries} requests retried (${causes || 'none'}), ${(transport.waitedMs / 1000).toFixed(1)} s ` +
    `waited in total, ${transport.budgetExhausted} left to the queue with the retry budget spent; writer: ` +
    `${writer.invocations} invocations, ${writer.failed} failed, ${writer.poisoned} messages poisoned`
  );
}

function definedSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  // Settings given in the environment win over the stack's defaults (e.g. DicomWeb__ChangeFeed__Version=v1).
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && /^(DicomWeb|Fhir|Patient|DicomCast|KeyVault)(__|:)/i.test(key)) out[key] = value;
  }
  return out;
}

async function listStudies(dicomUrl: string): Promise<string[]> {
  const response = await axios.get<DicomJsonDataset[] | ''>(`${dicomUrl}/v2/studies`, {
    headers: { Accept: 'application/dicom+json' },
    validateStatus: () => true,
  });
  if (response.status !== 200 || !Array.isArray(response.data)) return [];
  return response.data.map((study) => getString(study, Tag.StudyInstanceUID)).filter((uid): uid is string => !!uid);
}

/**
 * Outside the Functions host, @azure/functions warns that it runs in "test mode" and registers nothing; that is
 * expected here (the local host calls the exported handlers itself), so those two warnings are not shown.
 */
async function importQuietly<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /test mode/.test(args[0])) return;
    warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
