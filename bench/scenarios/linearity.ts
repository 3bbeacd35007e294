// One study of each of two sizes, each on an empty FHIR server: time should grow with the size, not its square.
import { makeSampleStudies } from '../../dev/samples/index.js';
import { progress, type BenchStack } from '../harness.js';
import { atMost, fixed, interactions, table, type Section } from '../report.js';
import { checkFhirComplete } from '../workload.js';

const LINEARITY_SLACK = 1.5;
const FHIR_PER_INSTANCE_TARGET = 0.05;

export async function runLinearity(
  stack: BenchStack,
  sizes: readonly [number, number],
  seriesPerStudy: number,
  seed: number,
): Promise<Section> {
  const rows = [];
  for (const size of sizes) {
    const series = Math.min(seriesPerStudy, size);
    const specs = makeSampleStudies({
      studies: 1,
      seriesPerStudy: series,
      instancesPerSeries: Math.ceil(size / series),
      seed: seed * 100_000 + size,
    }).slice(0, size);
    await stack.store(`linearity ${size}`, specs);
    await stack.servers.resetFhir();
    progress(`linearity: syncing one study of ${size} instances in ${series} series`);
    const run = await stack.measure(`linearity ${size}`, () => stack.syncOnce());
    rows.push({ size, series, run, completeness: await checkFhirComplete(stack.servers, specs) });
  }
  const [small, big] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const sizeRatio = big.size / small.size;
  const timeRatio = big.run.ms / small.run.ms;
  return {
    title: 'Linearity (one study each, empty FHIR server)',
    lines: [
      table(
        ['Study size', 'Series', 'Seconds', 'ms/inst', 'FHIR req', 'DICOM req', 'Writer runs', 'Sync dHeap MB'],
        rows.map((row) => [
          String(row.size),
          String(row.series),
          fixed(row.run.ms / 1000, 2),
          fixed(row.run.ms / row.size, 3),
          String(row.run.counts.fhirRequests),
          String(row.run.counts.dicomRequests),
          String(row.run.value.writerInvocations),
          fixed(row.run.syncMemory.heapUsedPeakDeltaMb, 0),
        ]),
      ),
      `Time ratio ${fixed(timeRatio, 2)} for a size ratio of ${sizeRatio} (linear ~${sizeRatio}, quadratic ~${sizeRatio ** 2})`,
      ...rows.map((row) => `FHIR requests, ${row.size}: ${interactions(row.run.counts.fhirByInteraction)}`),
    ],
    checks: [
      atMost(
        `Linear in study size: time(${big.size}) / time(${small.size})`,
        timeRatio,
        LINEARITY_SLACK * sizeRatio,
        2,
      ),
      atMost(
        `FHIR requests per instance (${big.size}-instance study)`,
        big.run.counts.fhirRequests / big.size,
        FHIR_PER_INSTANCE_TARGET,
        4,
      ),
      ...rows.map((row) => ({
        name: `FHIR complete after sync (linearity ${row.size})`,
        target: `${row.completeness.expectedInstances} instances`,
        actual: `${row.completeness.foundInstances} found${row.completeness.complete ? '' : `; ${row.completeness.problems.join('; ')}`}`,
        pass: row.completeness.complete,
      })),
    ],
    data: { sizeRatio, timeRatio, rows: rows.map((row) => ({ ...row, run: { ...row.run, value: row.run.value } })) },
  };
}
