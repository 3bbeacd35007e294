/**
 * Which telemetry this process runs, set once: Application Insights (initTelemetry, setup.ts) or the exporters a
 * caller installed (installTelemetry.ts). Shared by both so that neither starts over the other.
 */
export type TelemetryMode = 'azure-monitor' | 'exporters' | undefined;

let mode: TelemetryMode;

export const telemetryMode = {
  get: (): TelemetryMode => mode,
  set: (next: TelemetryMode): void => {
    mode = next;
  },
};
