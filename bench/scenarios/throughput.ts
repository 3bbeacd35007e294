// The default workload through the sync (poller, queue, 16 writers), then the same final resources written
// straight into the same FHIR server (the physical limit), then DICOM Cast's algorithm over a subset.
import { makeSampleStudies, uid, type InstanceSpec } from '../../dev/samples/index.js';
import type { MappingOptions } from '../../shared/mapping/index.js';
import { runDicomCastBaseline } from '../baselineDicomCast.js';
import { progress, type BenchStack, type Measured } from '../harness.js';
import { limitRatios } from '../limitRatio.js';
import { completenessCheck, figuresOf, straightRow, syncRow, type Row } from '../limitRuns.js';
import { atLeast, atMost, fixed, interactions, table, type Check, type Section } from '../report.js';
import { checkFhirComplete, latestSequence } from '../workload.js';

export interface ThroughputOptions {
  studies: number;
  series: number;
  instances: number;
  seed: number;
  baselineInstances: number;
  baselinePage: number;
}

const RATIO_TARGET = 0.5;
const FHIR_PER_STUDY_TARGET = 3;
const WADO_PER_STUDY_TARGET = 1;
const SYNC_MEMORY_TARGET_MB = 128;
const SPEEDUP_TARGET = 10;

const wado = (measured: Measured<unknown>) =>
  (measured.counts.dicomTraffic['metadata-study']?.requests ?? 0) +
  (measured.counts.dicomTraffic['metadata-series']?.requests ?? 0) +
  (measured.counts.dicomTraffic.retrieve?.requests ?? 0);

export async function runThroughput(
  stack: BenchStack,
  mapping: MappingOptions,
  options: ThroughputOptions,
): Promise<Section> {
  const specs = makeSampleStudies({
    studies: options.studies,
    seriesPerStudy: options.series,
    instancesPerSeries: options.instances,
    seed: options.seed,
  });
  const afterSequence = await latestSequence(stack.dicomUrl);
  await stack.store('workload', specs);

  progress(`ours: syncing ${specs.length} instances (LocalFunctionsHost.runOnce, as npm run local -- --once)`);
  const oursRow = await syncRow(stack, 'ours (poller+queue+writers)', specs);
  // Steady state: every study changes once more (one new instance), so each FHIR resource exists already.
  const added = oneNewInstancePerStudy(specs);
  await stack.store('steady state: one new instance in each study', added);
  progress(`ours, steady state: syncing ${added.length} changed studies`);
  const allSpecs = [...specs, ...added];
  const steadyRow = await syncRow(stack, 'ours, steady state (+1 instance/study)', added, allSpecs);
  const ours = oursRow.measured;
  const steady = steadyRow.measured;

  progress('physical limit: the same final resources, one transaction per study, 8 in parallel, no reads');
  const rows: Row[] = [oursRow, steadyRow, await straightRow(stack, 'straight into FHIR (limit)', allSpecs)];

  await stack.servers.resetFhir();
  const baselineCount = Math.min(options.baselineInstances, specs.length);
  progress(`baseline: DICOM Cast's algorithm over the first ${baselineCount} instances, one at a time`);
  const baseline = await stack.measure('DICOM Cast algorithm', () =>
    runDicomCastBaseline({
      dicomUrl: stack.dicomUrl,
      fhirUrl: stack.fhirUrl,
      mapping,
      afterSequence,
      maxEntries: baselineCount,
      pageSize: options.baselinePage,
    }),
  );
  const processed = baseline.value.entries;
  const baselineSpecs = specs.slice(0, processed);
  rows.push({
    name: `DICOM Cast algorithm (${processed} of ${specs.length})`,
    instances: processed,
    studies: new Set(baselineSpecs.map((spec) => spec.studyUid)).size,
    measured: baseline,
    completeness: await checkFhirComplete(stack.servers, baselineSpecs),
  });
  await stack.servers.resetFhir();

  const rate = (row: Row) => row.instances / (row.measured.ms / 1000);
  const [, , directRow, baselineRow] = rows as [Row, Row, Row, Row];
  const { wallClock: ratio, perCpuSecond: cpuRatio } = limitRatios(figuresOf(oursRow), figuresOf(directRow));
  const speedup = rate(oursRow) / rate(baselineRow);
  const fhirPerStudy = ours.counts.fhirRequests / options.studies;
  const wadoPerStudy = wado(ours) / options.studies;
  const steadyFhirPerStudy = steady.counts.fhirRequests / added.length;
  const steadyWadoPerStudy = wado(steady) / added.length;
  const syncMemory = ours.syncMemory.rssPeakDeltaMb;

  const lines = [
    table(
      [
        'Run',
        'Instances',
        'Seconds',
        'Inst/s',
        'FHIR req',
        'FHIR/study',
        'WADO/study',
        'DICOM req',
        'Sync dRSS MB',
        'Servers dRSS MB',
        'Sync CPU s',
        'Servers CPU s',
      ],
      rows.map((row) => [
        row.name,
        String(row.instances),
        fixed(row.measured.ms / 1000, 2),
        fixed(rate(row), 0),
        String(row.measured.counts.fhirRequests),
        fixed(row.measured.counts.fhirRequests / row.studies, 2),
        fixed(wado(row.measured) / row.studies, 2),
        String(row.measured.counts.dicomRequests),
        fixed(row.measured.syncMemory.rssPeakDeltaMb, 0),
        fixed(row.measured.serverMemory.rssPeakDeltaMb, 0),
        fixed(row.measured.syncMemory.cpuMs / 1000, 2),
        fixed(row.measured.serverMemory.cpuMs / 1000, 2),
      ]),
    ),
    '',
    `Ratio to the physical limit (ours / straight into FHIR, instances/s): ${fixed(ratio, 2)}; ` +
      `in instances per CPU second of both processes (load-independent): ${fixed(cpuRatio, 2)}`,
    `Speedup over the DICOM Cast algorithm: ${fixed(speedup, 1)}x`,
    `FHIR requests, ours: ${interactions(ours.counts.fhirByInteraction)}; steady state: ${interactions(steady.counts.fhirByInteraction)}`,
    `DICOM requests, ours: ${interactions(Object.fromEntries(Object.entries(ours.counts.dicomTraffic).map(([kind, t]) => [kind, t.requests])))}`,
    `Memory, ours: sync process idle RSS ${fixed(ours.syncMemory.rssStartMb, 0)} MB, peak ${fixed(ours.syncMemory.rssPeakMb, 0)} MB ` +
      `(heapUsed peak ${fixed(ours.syncMemory.heapUsedPeakMb, 0)} MB); server process peak RSS ${fixed(ours.serverMemory.rssPeakMb, 0)} MB`,
    `Ours: ${JSON.stringify(ours.value)}; steady state: ${JSON.stringify(steady.value)}`,
    `DICOM Cast algorithm: ${JSON.stringify(baseline.value)}`,
  ];
  const checks: Check[] = [
    atLeast('Throughput / straight into FHIR', ratio, RATIO_TARGET, 2),
    atMost('FHIR requests per changed study (steady state)', steadyFhirPerStudy, FHIR_PER_STUDY_TARGET, 2),
    atMost('WADO requests per changed study (new studies)', wadoPerStudy, WADO_PER_STUDY_TARGET, 2),
    atMost('WADO requests per changed study (steady state)', steadyWadoPerStudy, WADO_PER_STUDY_TARGET, 2),
    atMost('Sync memory above idle RSS (default workload)', syncMemory, SYNC_MEMORY_TARGET_MB, 0, ' MB'),
    atLeast('Throughput vs DICOM Cast algorithm', speedup, SPEEDUP_TARGET, 1, 'x'),
    ...rows.map(completenessCheck),
  ];
  return {
    title: `Throughput: ${options.studies} studies x ${options.series} series x ${options.instances} instances = ${specs.length} instances`,
    lines,
    checks,
    data: {
      ratio,
      cpuRatio,
      speedup,
      fhirPerStudy,
      wadoPerStudy,
      steadyFhirPerStudy,
      steadyWadoPerStudy,
      rows: rows.map((row) => ({ ...row, measured: { ...row.measured, value: undefined } })),
    },
  };
}

/** One more instance in the last series of each study (a new SOP Instance UID, the next instance number). */
function oneNewInstancePerStudy(specs: readonly InstanceSpec[]): InstanceSpec[] {
  const last = new Map<string, InstanceSpec>();
  for (const spec of specs) last.set(spec.studyUid, spec);
  return [...last.values()].map((spec) => ({
    ...spec,
    sopUid: uid('steady-state-instance', spec.sopUid),
    instanceNumber: (spec.instanceNumber ?? 0) + 1,
  }));
}
