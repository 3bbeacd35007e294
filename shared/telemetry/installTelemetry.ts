// OpenTelemetry providers with exporters of the caller's choice (the tests' in-memory ones). Its own module, so that a
// worker that never calls it does not import the OpenTelemetry SDK (setup.ts imports only what its settings ask for).
import { context, metrics, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { telemetryMode } from './telemetryMode.js';

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
  if (telemetryMode.get() === 'azure-monitor')
    throw new Error('Application Insights telemetry is already running in this process');
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
  telemetryMode.set('exporters');

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
      telemetryMode.set(undefined);
    },
  };
}
