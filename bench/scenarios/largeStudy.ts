// One large study (breast tomosynthesis, thin-slice CT) arriving over many polls: `batches` batches of
// `batchSize` instances in `series` series, one poll after each batch. What the writer reads from DICOM against
// the study's whole metadata, the writer's heap, and the time and CPU of each poll, against the physical limit of
// each poll (the study as the sync left it, written straight into the same FHIR server: bench/studyWriteLimit.ts).
import type { ImagingStudy } from '@medplum/fhirtypes';
import axios from 'axios';
import { makeSampleStudies } from '../../dev/samples/index.js';
import { imagingStudyIdentifier } from '../../shared/mapping/index.js';
import { lastOverFirstQuarter, quarterOf } from '../flatness.js';
import { progress, type BenchStack } from '../harness.js';
import { atMost, fixed, mib, table, type Section } from '../report.js';
import { compareStudyReads, seriesMetadataReads } from '../readerIsolation.js';
import { StudyWriteLimit } from '../studyWriteLimit.js';
import { checkFhirComplete } from '../workload.js';

export interface LargeStudyOptions {
  batches: number;
  batchSize: number;
  series: number;
  seed: number;
}

const BYTES_READ_TARGET = 3;
const HEAP_TARGET_MB = 256;
/** Flat: the last polls' time (and the sync's CPU) per instance stored within this factor of the first polls'. */
const FLATNESS_TARGET = 1.5;

interface PollRow {
  poll: number;
  instancesInStudy: number;
  ms: number;
  /** CPU of this process (the sync) and of the servers' process during the poll. */
  syncCpuMs: number;
  serversCpuMs: number;
  /** The poll's physical limit: the study as the sync left it, written straight into FHIR (wall, and CPU of each side). */
  limitMs: number;
  limitClientCpuMs: number;
  limitServersCpuMs: number;
  metadataBytes: number;
  wadoRequests: number;
  fhirRequests: number;
  heapPeakMb: number;
  rssPeakMb: number;
}

/** CPU of both processes (Azurite's is not counted) during the poll, less during its limit: load-independent. */
const cpuOverLimit = (row: PollRow) =>
  row.syncCpuMs + row.serversCpuMs - (row.limitClientCpuMs + row.limitServersCpuMs);

/** The ImagingStudy FHIR holds for the study under test (found by its identifier, so never the limit's). */
async function studyInFhir(stack: BenchStack, studyUid: string): Promise<ImagingStudy> {
  const { system, value } = imagingStudyIdentifier(studyUid);
  const studies = await stack.servers.all<ImagingStudy>('ImagingStudy');
  const study = studies.find((candidate) =>
    candidate.identifier?.some((identifier) => identifier.system === system && identifier.value === value),
  );
  if (!study) throw new Error(`large study: FHIR holds no ImagingStudy for study ${studyUid} after the poll`);
  return study;
}

async function studyMetadataBytes(dicomUrl: string, studyUid: string): Promise<number> {
  const response = await axios.get<ArrayBuffer>(`${dicomUrl}/v2/studies/${studyUid}/metadata`, {
    headers: { Accept: 'application/dicom+json' },
    responseType: 'arraybuffer',
  });
  return response.data.byteLength;
}

export async function runLargeStudy(stack: BenchStack, options: LargeStudyOptions): Promise<Section> {
  const total = options.batches * options.batchSize;
  const specs = makeSampleStudies({
    studies: 1,
    seriesPerStudy: options.series,
    instancesPerSeries: Math.ceil(total / options.series),
    seed: options.seed * 7_919 + total,
  }).slice(0, total);
  const studyUid = specs[0]?.studyUid ?? '';
  await stack.servers.resetFhir();
  const limit = new StudyWriteLimit(stack.fhirUrl, studyUid);
  const rows: PollRow[] = [];
  for (let batch = 0; batch < options.batches; batch++) {
    const part = specs.slice(batch * options.batchSize, (batch + 1) * options.batchSize);
    await stack.store(`large study batch ${batch + 1}/${options.batches}`, part);
    const run = await stack.measure(`large poll ${batch + 1}`, () => stack.syncOnce());
    const traffic = run.counts.dicomTraffic;
    const metadata = [traffic['metadata-study'], traffic['metadata-series']];
    const limitWrite = limit.transactionFor(await studyInFhir(stack, studyUid), batch + 1);
    const limitRun = await stack.measure(`large limit ${batch + 1}`, () => limit.send(limitWrite, batch + 1));
    rows.push({
      poll: batch + 1,
      instancesInStudy: (batch + 1) * options.batchSize,
      ms: run.ms,
      syncCpuMs: run.syncMemory.cpuMs,
      serversCpuMs: run.serverMemory.cpuMs,
      limitMs: limitRun.ms,
      limitClientCpuMs: limitRun.syncMemory.cpuMs,
      limitServersCpuMs: limitRun.serverMemory.cpuMs,
      metadataBytes: metadata.reduce((sum, t) => sum + (t?.bytes ?? 0), 0),
      wadoRequests: metadata.reduce((sum, t) => sum + (t?.requests ?? 0), 0),
      fhirRequests: run.counts.fhirRequests,
      heapPeakMb: run.syncMemory.heapUsedPeakMb,
      rssPeakMb: run.syncMemory.rssPeakMb,
    });
    progress(`large study poll ${batch + 1}: ${fixed(run.ms / 1000, 2)} s; limit ${fixed(limitRun.ms / 1000, 2)} s`);
  }
  await limit.remove();
  const completeness = await checkFhirComplete(stack.servers, specs);

  // The reader on its own: whole vs streamed, and per poll only the series that poll's batch touched.
  progress('large study: the reader in isolation');
  const reads = await compareStudyReads(stack.dicomUrl, studyUid);
  await stack.servers.resetCounts();
  for (let batch = 0; batch < options.batches; batch++) {
    const part = specs.slice(batch * options.batchSize, (batch + 1) * options.batchSize);
    await seriesMetadataReads(stack.dicomUrl, studyUid, [...new Set(part.map((spec) => spec.seriesUid))]);
  }
  const seriesTraffic = (await stack.servers.counts()).dicomTraffic['metadata-series'] ?? { requests: 0, bytes: 0 };
  const wholeMetadata = await studyMetadataBytes(stack.dicomUrl, studyUid);
  const bytesRead = rows.reduce((sum, row) => sum + row.metadataBytes, 0);
  const heapPeak = Math.max(...rows.map((row) => row.heapPeakMb));
  // Per instance stored (every batch is the same size): the mean of the last quarter of polls over the first's.
  const quarter = quarterOf(rows.length);
  const growth = (figure: (row: PollRow) => number) => lastOverFirstQuarter(rows.map(figure));
  const flatness = growth((row) => row.ms);
  const growths = {
    syncCpu: growth((row) => row.syncCpuMs),
    serversCpu: growth((row) => row.serversCpuMs),
    limit: growth((row) => row.limitMs),
    limitServersCpu: growth((row) => row.limitServersCpuMs),
    oursMinusLimit: growth((row) => row.ms - row.limitMs),
    oursMinusLimitCpu: growth(cpuOverLimit),
  };
  await stack.servers.resetFhir();

  return {
    title: `Large study: ${total} instances in ${options.series} series, ${options.batches} polls of ${options.batchSize} new instances`,
    lines: [
      table(
        [
          'Poll',
          'In study',
          'Seconds',
          'ms/new inst',
          'Sync CPU s',
          'Servers CPU s',
          'Metadata MB read',
          'WADO req',
          'FHIR req',
          'Sync heap MB',
          'Sync RSS MB',
        ],
        rows.map((row) => [
          String(row.poll),
          String(row.instancesInStudy),
          fixed(row.ms / 1000, 2),
          fixed(row.ms / options.batchSize, 2),
          fixed(row.syncCpuMs / 1000, 2),
          fixed(row.serversCpuMs / 1000, 2),
          fixed(mib(row.metadataBytes), 1),
          String(row.wadoRequests),
          String(row.fhirRequests),
          fixed(row.heapPeakMb, 0),
          fixed(row.rssPeakMb, 0),
        ]),
      ),
      `Metadata read from DICOM: ${fixed(mib(bytesRead), 1)} MB in all; the study's whole metadata is ${fixed(mib(wholeMetadata), 1)} MB ` +
        `(${fixed(bytesRead / wholeMetadata, 2)}x)`,
      `Last ${quarter} polls / first ${quarter}, per new instance: time ${fixed(flatness, 2)}; ` +
        `sync CPU ${fixed(growths.syncCpu, 2)}; servers CPU ${fixed(growths.serversCpu, 2)}`,
      '',
      'Against the physical limit of each poll: the ImagingStudy as the sync left it, written straight into the same ' +
        'FHIR server as the sync writes it (created at poll 1, then one update with If-Match of the whole resource; ' +
        'no reads). The limit is what any FHIR server must do with a study of that size; ours minus limit is what the ' +
        'sync adds (in CPU: the sync and servers processes during the poll, less both during the limit write):',
      table(
        [
          'Poll',
          'In study',
          'Ours s',
          'Limit s',
          'Ours - limit s',
          'Limit servers CPU s',
          'Limit client CPU s',
          'Ours - limit CPU s',
        ],
        rows.map((row) => [
          String(row.poll),
          String(row.instancesInStudy),
          fixed(row.ms / 1000, 2),
          fixed(row.limitMs / 1000, 3),
          fixed((row.ms - row.limitMs) / 1000, 2),
          fixed(row.limitServersCpuMs / 1000, 3),
          fixed(row.limitClientCpuMs / 1000, 3),
          fixed(cpuOverLimit(row) / 1000, 2),
        ]),
      ),
      `Last ${quarter} polls / first ${quarter}: limit time ${fixed(growths.limit, 2)}; ` +
        `limit servers CPU ${fixed(growths.limitServersCpu, 2)}; ours minus limit ${fixed(growths.oursMinusLimit, 2)}, ` +
        `in CPU of both processes ${fixed(growths.oursMinusLimitCpu, 2)}`,
      '',
      'The reader in isolation (the writer streams the whole study, per instance), on the whole study after the last poll:',
      table(
        ['Read', 'Instances', 'Seconds', 'Heap rise MB'],
        [
          ['whole study, JSON.parse (before)', reads.whole],
          ['whole study, streamed per instance', reads.streamed],
        ].map(([name, figures]) => {
          const f = figures as typeof reads.whole;
          return [name as string, String(f.instances), fixed(f.ms / 1000, 2), fixed(f.heapPeakDeltaMb, 0)];
        }),
      ),
      `Series-level reads of only the series each batch touched, over the ${options.batches} polls: ` +
        `${seriesTraffic.requests} requests, ${fixed(mib(seriesTraffic.bytes), 1)} MB ` +
        `(${fixed(seriesTraffic.bytes / wholeMetadata, 2)}x the whole metadata; upper bound: each series read as it ends up)`,
    ],
    checks: [
      atMost('Large study: metadata bytes read / whole metadata', bytesRead / wholeMetadata, BYTES_READ_TARGET, 2, 'x'),
      atMost('Large study: writer peak heap', heapPeak, HEAP_TARGET_MB, 0, ' MB'),
      atMost('Large study: time per new instance, last polls / first polls', flatness, FLATNESS_TARGET, 2),
      atMost('Large study: sync CPU per new instance, last polls / first polls', growths.syncCpu, FLATNESS_TARGET, 2),
      {
        name: 'FHIR complete after sync (large study)',
        target: `${completeness.expectedInstances} instances`,
        actual: `${completeness.foundInstances} found${completeness.complete ? '' : `; ${completeness.problems.join('; ')}`}`,
        pass: completeness.complete,
      },
    ],
    data: { rows, bytesRead, wholeMetadata, heapPeak, flatness, growths, reads, seriesTraffic },
  };
}
