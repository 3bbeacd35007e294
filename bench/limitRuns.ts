// The two runs target 1 compares, shared by the throughput and latency scenarios: the sync bringing a workload
// into FHIR, and the same final resources written straight into the same FHIR server (the physical limit), each
// followed by the check that FHIR holds every instance.
import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import type { InstanceSpec } from '../dev/samples/index.js';
import { studyTransactions, writeStraight } from './directWrite.js';
import type { BenchStack, HostActivity, Measured } from './harness.js';
import type { RunFigures } from './limitRatio.js';
import type { Check } from './report.js';
import { checkFhirComplete, type Completeness } from './workload.js';

export interface Row<T = unknown> {
  name: string;
  instances: number;
  studies: number;
  measured: Measured<T>;
  completeness: Completeness;
}

const studiesIn = (specs: readonly InstanceSpec[]) => new Set(specs.map((spec) => spec.studyUid)).size;

/**
 * One sync pass (LocalFunctionsHost.runOnce, as `npm run local -- --once`) over `changed`, stored beforehand, timed;
 * then FHIR checked to hold exactly `expected` (every instance synced so far).
 */
export async function syncRow(
  stack: BenchStack,
  name: string,
  changed: readonly InstanceSpec[],
  expected: readonly InstanceSpec[] = changed,
): Promise<Row<HostActivity>> {
  const measured = await stack.measure(name, () => stack.syncOnce());
  return {
    name,
    instances: changed.length,
    studies: studiesIn(changed),
    measured,
    completeness: await checkFhirComplete(stack.servers, expected),
  };
}

/**
 * The resources the sync left in FHIR, read (untimed), FHIR emptied, then written straight back, one transaction
 * per study, 8 in parallel, no reads (timed); then FHIR checked to hold exactly `expected` again.
 */
export async function straightRow(stack: BenchStack, name: string, expected: readonly InstanceSpec[]): Promise<Row> {
  const [imagingStudies, patients, endpoints] = await Promise.all([
    stack.servers.all<ImagingStudy>('ImagingStudy'),
    stack.servers.all<Patient>('Patient'),
    stack.servers.all<Endpoint>('Endpoint'),
  ]);
  const bundles = studyTransactions({ imagingStudies, patients, endpoints });
  await stack.servers.resetFhir();
  const measured = await stack.measure(name, () => writeStraight(stack.fhirUrl, bundles, 8));
  return {
    name,
    instances: expected.length,
    studies: bundles.length,
    measured,
    completeness: await checkFhirComplete(stack.servers, expected),
  };
}

/** A row as limitRatios takes it: instances, wall-clock, CPU of both processes (Azurite's is not counted). */
export function figuresOf(row: Row): RunFigures {
  return {
    instances: row.instances,
    ms: row.measured.ms,
    cpuMs: row.measured.syncMemory.cpuMs + row.measured.serverMemory.cpuMs,
  };
}

export function completenessCheck(row: Row): Check {
  return {
    name: `FHIR complete after sync (${row.name})`,
    target: `${row.completeness.expectedInstances} instances in ${row.completeness.expectedStudies} studies`,
    actual: `${row.completeness.foundInstances} found${row.completeness.complete ? '' : `; ${row.completeness.problems.join('; ')}`}`,
    pass: row.completeness.complete,
  };
}
