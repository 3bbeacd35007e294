/** One key per (partition, study): the unit a message, a sync and a telemetry correlation are about. */
export function studyKey(partition: string | undefined, study: string): string {
  return `${partition ?? ''}\u0000${study}`;
}
