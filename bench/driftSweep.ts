#!/usr/bin/env node
/**
 * `npm run bench:sweep -- [--dicom orthanc|stand-in] [--studies N]`: what the drift sweep costs (requests and seconds
 * per 1,000 studies, archive and FHIR in sync, so every study is compared and none enqueued) and, on Orthanc, the
 * latency from a STOW-RS store to the ImagingStudy in FHIR with the poller on a 1-second timer.
 * A measurement, not a test: it prints its figures and exits 0.
 */
import { parseArgs } from 'node:util';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { LocalFunctionsHost } from '../dev/functionsHost/localFunctionsHost.js';
import { startLocalOrthanc, storeSamplesInOrthanc, stowToOrthanc, type LocalOrthanc } from '../dev/localOrthanc.js';
import { startLocalStack } from '../dev/localStack.js';
import { makeInstanceFile, makeSampleStudies } from '../dev/samples/index.js';
import { stowInstances } from '../dev/seedSamples.js';
import { runDriftSweepHandler } from '../shared/handlers/driftSweepHandler.js';
import { getRuntime } from '../shared/runtime/runtime.js';

const { values } = parseArgs({
  options: {
    dicom: { type: 'string', default: 'orthanc' },
    studies: { type: 'string', default: '1000' },
    'latency-samples': { type: 'string', default: '10' },
  },
});
const studies = Number(values.studies);
const onOrthanc = values.dicom === 'orthanc';
const quiet = () => undefined;

const local: LocalOrthanc | undefined = onOrthanc ? await startLocalOrthanc() : undefined;
const stack = await startLocalStack({
  ...(local ? { dicomUrl: local.orthanc.dicomWebUrl } : {}),
  settings: {
    ...local?.settings,
    DicomCast__DriftSweep__Enabled: 'true',
    DicomCast__DriftSweep__MaxPages: '100000',
    DicomCast__DriftSweep__MaxSeconds: '3600',
    DicomCast__DriftSweep__PageSize: '100',
    DicomCast__Schedule: '*/1 * * * * *',
  },
});
try {
  const host = new LocalFunctionsHost({ settings: stack.settings });
  const options = { studies, seriesPerStudy: 1, instancesPerSeries: 1, seed: 11 };
  let started = Date.now();
  if (local) await storeSamplesInOrthanc(local.orthanc, options);
  else await stowInstances(stack.dicomUrl, makeSampleStudies(options));
  console.error(`stored ${studies} studies in ${Date.now() - started} ms`);
  started = Date.now();
  await host.runOnce();
  console.error(`initial sync of ${studies} studies in ${Date.now() - started} ms`);

  const runtime = await getRuntime();
  stack.fhir!.resetRequestCount();
  started = performance.now();
  const result = await runDriftSweepHandler(runtime, quiet);
  const seconds = (performance.now() - started) / 1000;
  const per1000 = (value: number) => ((value * 1000) / studies).toFixed(1);
  console.log(
    `drift sweep on ${onOrthanc ? 'Orthanc' : 'the Azure DICOM stand-in'}, ${studies} studies in sync: ` +
      `${result!.requests} requests (${stack.fhir!.requestCount()} of them FHIR), ${result!.pages} pages, ` +
      `${seconds.toFixed(2)} s (archive ${(result!.archiveMs / 1000).toFixed(2)} s, FHIR ${(result!.fhirMs / 1000).toFixed(2)} s), enqueued ${result!.enqueued} => ${per1000(result!.requests)} requests and ` +
      `${per1000(seconds)} s per 1,000 studies`,
  );

  if (local) {
    await host.start();
    const latencies: number[] = [];
    const samples = Number(values['latency-samples']);
    for (let index = 0; index < samples; index++) {
      const [spec] = makeSampleStudies({ studies: 1, seriesPerStudy: 1, instancesPerSeries: 1, seed: 1000 + index });
      const storedAt = Date.now();
      await stowToOrthanc(local.orthanc, [makeInstanceFile(spec!)]);
      for (;;) {
        const response = await fetch(
          `${stack.fhirUrl}/ImagingStudy?identifier=urn:dicom:uid|urn:oid:${spec!.studyUid}`,
        );
        const bundle = (await response.json()) as { entry?: { resource: ImagingStudy }[] };
        if (bundle.entry?.length) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      latencies.push(Date.now() - storedAt);
      await new Promise((resolve) => setTimeout(resolve, 300 + ((index * 137) % 700)));
    }
    await host.stop();
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    console.log(
      `store in Orthanc -> ImagingStudy in FHIR (poller every 1 s, ${samples} studies): ` +
        `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${latencies.at(-1)} ms`,
    );
  }
} finally {
  await stack.close();
  await local?.orthanc.close();
}
process.exit(0);
