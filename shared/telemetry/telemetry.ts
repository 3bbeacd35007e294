import {
  context as contextApi,
  createNoopMeter,
  isSpanContextValid,
  metrics,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type MeterProvider,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { createNoopLogger, logs, SeverityNumber, type Logger, type LoggerProvider } from '@opentelemetry/api-logs';
import type { Log, LogLevel } from '../logging/log.js';
import { createInstruments, type Instruments } from './instruments.js';
import { Attr, meterName, requestOutcomeOf, type WriteOutcome } from './names.js';
import { safeProperties, scrubbedErrorMessage, scrubText, toAttributes } from './redaction.js';

/** Calls to the FHIR or DICOM server, timed and counted by whoever makes them. */
export interface RequestObserver {
  observe<T>(
    server: 'fhir' | 'dicom',
    operation: string,
    call: () => Promise<T>,
    status?: { ofResult?: (result: T) => number | undefined; ofError?: (error: unknown) => number | undefined },
    attributes?: Attributes,
  ): Promise<T>;
}

export interface ChangeFeedLagFigures {
  sequences: number;
  seconds?: number;
}

export interface TelemetryOptions {
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
  loggerProvider?: LoggerProvider;
  /**
   * True when log records are exported (Application Insights or an injected exporter). Info and debug lines then
   * go only there; the host still gets warnings and errors (its own copy of every line would double the volume).
   */
  exportsLogs?: boolean;
  /** Lowest level exported as a log record (default info). */
  minLogLevel?: LogLevel;
}

const levelRank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const severity: Record<LogLevel, SeverityNumber> = {
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/**
 * The app's metrics, spans and log records. Built once per worker with the runtime; every instrument comes from the
 * providers in force then (Azure Monitor, an injected exporter, or the OpenTelemetry API's no-op ones).
 */
export class Telemetry implements RequestObserver {
  readonly tracer: Tracer;
  readonly exportsLogs: boolean;
  private readonly logger: Logger;
  private readonly minLogRank: number;
  private readonly instruments: Instruments;

  constructor(options: TelemetryOptions = {}) {
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(meterName);
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(meterName);
    this.instruments = createInstruments(meter);
    this.logger = (options.loggerProvider ?? logs.getLoggerProvider()).getLogger(meterName);
    this.exportsLogs = options.exportsLogs ?? false;
    this.minLogRank = levelRank[options.minLogLevel ?? 'info'];
  }

  /**
   * A Log that adds `fixed` properties (the correlation of the change being handled) to every line, leaves out
   * whatever could be patient data, and sends the line to the host (`base`) and, when exported, as a log record
   * bound to the active span (so App Insights files it under the span's operation).
   */
  log(base: Log, fixed: Record<string, unknown> = {}): Log {
    return (level, message, properties) => {
      const safe = safeProperties({ ...fixed, ...properties });
      const text = scrubText(message);
      const active = contextApi.active();
      if (!this.exportsLogs || levelRank[level] >= levelRank.warn) {
        const spanContext = trace.getSpanContext(active);
        const withTrace =
          spanContext && isSpanContextValid(spanContext) ? { ...safe, traceId: spanContext.traceId } : safe;
        base(level, text, withTrace);
      }
      if (this.exportsLogs && levelRank[level] >= this.minLogRank) {
        this.logger.emit({
          severityNumber: severity[level],
          severityText: level.toUpperCase(),
          body: text,
          attributes: toAttributes(safe),
          context: active,
        });
      }
    };
  }

  /** Runs `work` in a new span (child of `parent`), ending it and marking it failed when `work` throws. */
  async inSpan<T>(name: string, options: SpanOptions, parent: Context, work: (span: Span) => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(name, options, parent);
    try {
      return await contextApi.with(trace.setSpan(parent, span), () => work(span));
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: scrubbedErrorMessage(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  async observe<T>(
    server: 'fhir' | 'dicom',
    operation: string,
    call: () => Promise<T>,
    status: { ofResult?: (result: T) => number | undefined; ofError?: (error: unknown) => number | undefined } = {},
    attributes: Attributes = {},
  ): Promise<T> {
    const histogram = server === 'fhir' ? this.instruments.fhirRequestDuration : this.instruments.dicomRequestDuration;
    const base = { [Attr.server]: server, [Attr.operation]: operation, ...attributes };
    const name = `${server === 'fhir' ? 'FHIR' : 'DICOM'} ${operation}`;
    return this.tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes: base }, async (span) => {
      const started = performance.now();
      let code: number | undefined;
      try {
        const result = await call();
        code = status.ofResult ? status.ofResult(result) : 200;
        return result;
      } catch (error) {
        code = status.ofError?.(error);
        throw error;
      } finally {
        const outcome = requestOutcomeOf(code);
        const measured = {
          ...base,
          [Attr.outcome]: outcome,
          ...(code !== undefined ? { [Attr.statusCode]: code } : {}),
        };
        histogram.record(performance.now() - started, measured);
        span.setAttributes(measured);
        if (outcome !== 'success' && outcome !== 'not-found') span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    });
  }

  recordEntriesRead(count: number): void {
    if (count > 0) this.instruments.entriesRead.add(count);
  }

  /** Study messages one poller flush put on the study queue. */
  recordMessagesEnqueued(count: number): void {
    this.instruments.messagesEnqueued.add(count);
  }

  recordLag(lag: ChangeFeedLagFigures): void {
    this.instruments.lagSequences.record(lag.sequences);
    if (lag.seconds !== undefined) this.instruments.lagSeconds.record(lag.seconds);
  }

  recordWrite(outcome: WriteOutcome, durationMs: number, dequeueCount: number): void {
    const attributes = { [Attr.outcome]: outcome };
    this.instruments.studiesWritten.add(1, attributes);
    this.instruments.writerDuration.record(durationMs, attributes);
    this.instruments.dequeueCount.record(dequeueCount);
  }

  recordFailure(category: string): void {
    this.instruments.failures.add(1, { [Attr.category]: category });
  }

  recordPoisoned(recorded: boolean): void {
    this.instruments.poisoned.add(1, { [Attr.outcome]: recorded ? 'recorded' : 'already-recorded' });
  }
}

/** Telemetry that goes nowhere, whatever providers are registered (the CLI, unit tests). */
export const noopTelemetry = new Telemetry({
  tracerProvider: new ProxyTracerProvider(),
  meterProvider: { getMeter: () => createNoopMeter() },
  loggerProvider: { getLogger: () => createNoopLogger() },
});
