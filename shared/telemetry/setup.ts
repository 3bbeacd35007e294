import { readSetting, type FlatSettings } from '../config/settingsSource.js';
import { Telemetry } from './telemetry.js';
import { telemetryMode } from './telemetryMode.js';

/** The setting that turns Application Insights on (the platform's own name for it). */
export const connectionStringSetting = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

/** The cloud role name: the Function App's name, as the host reports it, so host and worker rows line up. */
function serviceName(settings: FlatSettings): string {
  return readSetting(settings, ['WEBSITE_SITE_NAME']) ?? 'dicom-cast-functions';
}

/**
 * The worker's telemetry. With APPLICATIONINSIGHTS_CONNECTION_STRING set, the Azure Monitor OpenTelemetry distro is
 * started, once per process, and metrics, spans and log records go to Application Insights. Without it the
 * OpenTelemetry API stays on its no-op providers (or on whatever `installTelemetry` registered).
 *
 * The distro's HTTP and Azure SDK auto-instrumentations are off: an HTTP client span would carry the full URL, and a
 * FHIR search URL names a PatientID. FHIR and DICOM calls are traced by the app itself with safe attributes only.
 * Traces are sampled by ratio (default 1, all), which keeps a study's poll and write spans together since both sides
 * share its trace id; OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG override it. Metrics are never sampled.
 * The distro and the OpenTelemetry SDK are imported only when the setting is there: a worker without it never loads
 * them (about 125 ms of CPU at start).
 */
export async function initTelemetry(settings: FlatSettings): Promise<Telemetry> {
  const connectionString = readSetting(settings, [connectionStringSetting])?.trim();
  if (telemetryMode.get() === undefined && connectionString) {
    const [{ useAzureMonitor }, { resourceFromAttributes }] = await Promise.all([
      import('@azure/monitor-opentelemetry'),
      import('@opentelemetry/resources'),
    ]);
    const credential = await entraCredential(settings);
    useAzureMonitor({
      azureMonitorExporterOptions: { connectionString, ...(credential ? { credential } : {}) },
      resource: resourceFromAttributes({ 'service.name': serviceName(settings) }),
      samplingRatio: 1,
      tracesPerSecond: 0,
      enableLiveMetrics: false,
      instrumentationOptions: {
        http: { enabled: false },
        azureSdk: { enabled: false },
        console: { enabled: false },
        bunyan: { enabled: false },
        winston: { enabled: false },
      },
    });
    telemetryMode.set('azure-monitor');
  }
  return new Telemetry({ exportsLogs: telemetryMode.get() !== undefined });
}

/**
 * Application Insights with local authentication disabled (as infra/ deploys it) only takes telemetry signed with an
 * Entra token. The platform's own setting says how: APPLICATIONINSIGHTS_AUTHENTICATION_STRING is
 * `Authorization=AAD` (system-assigned identity) or `ClientId=<id>;Authorization=AAD` (user-assigned).
 */
export function parseAuthenticationString(value: string | undefined): { clientId?: string } | undefined {
  if (!value) return undefined;
  const parts = new Map(
    value
      .split(';')
      .map((part) => part.split('=').map((text) => text.trim()))
      .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== '')
      .map(([key, text]) => [key.toLowerCase(), text]),
  );
  if (parts.get('authorization')?.toLowerCase() !== 'aad') return undefined;
  const clientId = parts.get('clientid');
  return clientId ? { clientId } : {};
}

async function entraCredential(settings: FlatSettings) {
  const auth = parseAuthenticationString(readSetting(settings, ['APPLICATIONINSIGHTS_AUTHENTICATION_STRING']));
  if (!auth) return undefined;
  const { ManagedIdentityCredential } = await import('@azure/identity');
  return auth.clientId ? new ManagedIdentityCredential({ clientId: auth.clientId }) : new ManagedIdentityCredential();
}
