// The latency scenario's list of FHIR storage latencies (`--latency-sweep`), and the row a check reads.

/** `--latency-sweep A,B,...`: whole milliseconds, at least 0, each once, in the order given. */
export function parseLatencySweep(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const latencies = parts.map((part) => {
    const value = part === '' ? Number.NaN : Number(part);
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`--latency-sweep: "${part}" is not a whole number of milliseconds (0 or more) in "${text}"`);
    }
    return value;
  });
  const repeated = latencies.find((value, index) => latencies.indexOf(value) !== index);
  if (repeated !== undefined) throw new Error(`--latency-sweep: ${repeated} ms is listed twice in "${text}"`);
  return latencies;
}

/** The row measured at `latencyMs`, if the sweep had it. */
export function rowAtLatency<Row extends { latencyMs: number }>(
  rows: readonly Row[],
  latencyMs: number,
): Row | undefined {
  return rows.find((row) => row.latencyMs === latencyMs);
}
