// Target 1's figure: how close the sync comes to the physical limit (the same final resources written straight
// into the same FHIR server), as a rate ratio in wall-clock time and in CPU time of both processes.

/** What one timed run did: the instances it brought into FHIR, its wall-clock time and the CPU both processes spent. */
export interface RunFigures {
  instances: number;
  ms: number;
  /** CPU milliseconds of the bench's process (the sync, or the direct writer) and of the servers' process. */
  cpuMs: number;
}

export interface LimitRatios {
  /** Ours / straight into FHIR in instances per second: what a user waits for. */
  wallClock: number;
  /** The same in instances per CPU second: a busy machine stretches wall time, not CPU time, so this compares across runs. */
  perCpuSecond: number;
}

const perUnit = (instances: number, amount: number) => instances / amount;

export function limitRatios(ours: RunFigures, straight: RunFigures): LimitRatios {
  return {
    wallClock: perUnit(ours.instances, ours.ms) / perUnit(straight.instances, straight.ms),
    perCpuSecond: perUnit(ours.instances, ours.cpuMs) / perUnit(straight.instances, straight.cpuMs),
  };
}
