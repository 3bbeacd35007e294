import { context, metrics, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { readSetting, type FlatSettings } from '../config/settingsSource.js';
import { Telemetry } from './telemetry.js';

/** The setting that turns Application Insights on (the platform's own name for it). */
export const connectionStringSetting = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

let mode: 'azure-monitor' | 'exporters' | undefined;

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
 */
export async function initTelemetry(settings: FlatSettings): Promise<Telemetry> {
  const connectionString = readSetting(settings, [connectionStringSetting])?.trim();
  if (mode === undefined && connectionString) {
    const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
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
    mode = 'azure-monitor';
  }
  return new Telemetry({ exportsLogs: mode !== undefined });
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

export interface TelemetryExporters {
  spanExporter?: SpanExporter;
  metricExporter?: PushMetricExporter;
  logExporter?: LogRecordExporter;
  /** How often metrics are pushed; `flush()` pushes at once (default one minute). */
  metricIntervalMs?: number;
}

export interface InstalledTelemetry {
  /** Exports everything recorded so far. */
  flush(): Promise<void>;
  /** Flushes, then unregisters the providers. */
  shutdown(): Promise<void>;
}

/**
 * Registers OpenTelemetry providers that export to the given exporters (tests: the in-memory ones; or any other
 * OpenTelemetry exporter), with an AsyncLocalStorage context manager so spans nest across awaits.
 * Call before the runtime is built: its instruments bind to the providers in force then.
 */
export function installTelemetry(exporters: TelemetryExporters): InstalledTelemetry {
  if (mode === 'azure-monitor') throw new Error('Application Insights telemetry is already running in this process');
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: exporters.spanExporter ? [new SimpleSpanProcessor(exporters.spanExporter)] : [],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({
    readers: exporters.metricExporter
      ? [
          new PeriodicExportingMetricReader({
            exporter: exporters.metricExporter,
            exportIntervalMillis: exporters.metricIntervalMs ?? 60_000,
          }),
        ]
      : [],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  const loggerProvider = new LoggerProvider({
    processors: exporters.logExporter ? [new SimpleLogRecordProcessor({ exporter: exporters.logExporter })] : [],
  });
  logs.setGlobalLoggerProvider(loggerProvider);
  mode = 'exporters';

  const flush = async () => {
    await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush(), loggerProvider.forceFlush()]);
  };
  return {
    flush,
    async shutdown() {
      await flush();
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      logs.disable();
      contextManager.disable();
      context.disable();
      mode = undefined;
    },
  };
}
