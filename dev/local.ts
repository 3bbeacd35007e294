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
import { transportStats, type TransportStats } from '../shared/http/retryBudget.js';
import { parseChaosSpec, startChaosProxy, type ChaosProxy } from './chaosProxy.js';
import { startLocalStack } from './localStack.js';
import { storeSampleStudies } from './seedSamples.js';
import { formatSummary, summarizeStudies } from './syncSummary.js';

const usage = `Usage: npm run local -- [options]
  --once                 one full cycle (poll, then every queued study), print the summary, exit
  --dicom-url URL        use this DICOMweb server (Azure DICOM service API) instead of the embedded one
  --fhir-url URL         use this FHIR R4 server instead of the embedded one
  --storage CONN         use this Storage connection string instead of an embedded Azurite
  --studies N            sample studies to store first (default 3; 0 stores none)
  --servers-only         only run the embedded servers (for \`func start\` with local.settings.json)
  --fhir-chaos SPEC      put a fault-injecting proxy before the FHIR server, e.g. 429=0.3,503=0.05,reset=0.03,lost=0.02
  --verbose              print every function log line
  --help`;

const { values } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'dicom-url': { type: 'string' },
    'fhir-url': { type: 'string' },
    storage: { type: 'string' },
    studies: { type: 'string', default: '3' },
    'servers-only': { type: 'boolean', default: false },
    'fhir-chaos': { type: 'string' },
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

const chaos = values['fhir-chaos']
  ? await startChaosProxy({ rates: parseChaosSpec(values['fhir-chaos']), seed: Date.now() % 100_000 })
  : undefined;
const stack = await startLocalStack({
  ...(values['dicom-url'] ? { dicomUrl: values['dicom-url'] } : { dicomPort: 8042 }),
  ...(values['fhir-url'] ? { fhirUrl: values['fhir-url'] } : { fhirPort: 8080 }),
  ...(values.storage ? { storageConnectionString: values.storage } : {}),
  settings: { ...definedSettings(process.env), ...(chaos ? { Fhir__Endpoint: `${chaos.origin}/fhir` } : {}) },
});
if (chaos) {
  chaos.setTarget(new URL(stack.fhirUrl).origin);
  console.log(`FHIR chaos     the functions reach FHIR through ${chaos.origin} (${values['fhir-chaos']})`);
}

console.log(`DICOM server   ${stack.dicomUrl}${stack.dicom ? ' (embedded stand-in of the Azure DICOM service)' : ''}`);
console.log(`FHIR server    ${stack.fhirUrl}${stack.fhir ? ' (embedded, @medplum/fhir-router)' : ''}`);
console.log(
  `Storage        ${stack.azurite ? `Azurite on 127.0.0.1:${stack.azurite.ports.queue} (queues)` : 'as given'}`,
);

if (studies > 0) {
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
  await stack.close();
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
  const studyUids = await listStudies(stack.dicomUrl);
  console.log(formatSummary(await summarizeStudies(fhir, stack.fhirUrl, studyUids)));
}

if (values.once) {
  const started = Date.now();
  await host.runOnce();
  console.log(`One cycle done in ${Date.now() - started} ms`);
  if (chaos) {
    const { invocations, failed, poisoned } = host.writer.stats;
    console.log(describeChaos(chaos.stats(), transportStats()));
    console.log(`Writer: ${invocations} invocations, ${failed} failed, ${poisoned} messages poisoned`);
  }
  await printSummary();
  await stack.close();
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
await stack.close();
process.exit(0);

function describeChaos(proxy: ReturnType<ChaosProxy['stats']>, transport: TransportStats): string {
  const causes = Object.entries(transport.causes)
    .map(([cause, count]) => `${cause} ${count}`)
    .join(', ');
  return (
    `FHIR chaos: ${proxy.requests} requests, ${proxy.throttle} answered 429, ${proxy.unavailable} answered 503, ` +
    `${proxy.reset} reset, ${proxy.lost} responses lost; transport: ${transport.retries} requests retried ` +
    `(${causes || 'none'}), ${(transport.waitedMs / 1000).toFixed(1)} s waited, ` +
    `${transport.budgetExhausted} left to the queue with the budget spent`
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
