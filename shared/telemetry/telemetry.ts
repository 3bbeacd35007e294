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
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { createNoopLogger, logs, SeverityNumber, type Logger, type LoggerProvider } from '@opentelemetry/api-logs';
import type { ChangeFeedEntry } from '../dicomweb/changeFeedEntry.js';
import { defaultPartition } from '../dicomweb/studyReader.js';
import type { Log, LogLevel } from '../logging/log.js';
import { studyQueueName } from '../queue/queueNames.js';
import type { StudyMessage } from '../queue/studyMessage.js';
import { Attr, meterName, MetricName, requestOutcomeOf, SpanName, type WriteOutcome } from './names.js';
import { safeProperties, scrubText, toAttributes } from './redaction.js';
import { formatTraceparent } from './traceContext.js';

/** One change, as both sides of the queue name it: the study and the highest change-feed sequence of the message. */
export interface Correlation {
  study: string;
  sequence: number;
  partition?: string;
}

/** `<study>@<sequence>` (`<partition>/<study>@<sequence>` for a named partition): the correlation id of a change. */
export function correlationId(correlation: Correlation): string {
  const partition = namedPartition(correlation.partition) ? `${correlation.partition}/` : '';
  return `${partition}${correlation.study}@${correlation.sequence}`;
}

/** The span attributes of a change. */
export function correlationAttributes(correlation: Correlation): Attributes {
  return {
    [Attr.correlationId]: correlationId(correlation),
    [Attr.study]: correlation.study,
    [Attr.sequence]: correlation.sequence,
    ...(namedPartition(correlation.partition) ? { [Attr.partition]: correlation.partition } : {}),
  };
}

/** The default partition is no partition: ids and attributes name only the others. */
function namedPartition(partition: string | undefined): partition is string {
  return partition !== undefined && partition !== '' && partition !== defaultPartition;
}

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

/** Stamps the messages of one poller flush with their own trace context (see shared/sync/poll.ts). */
export interface PollTracing {
  beforeSend(
    messages: StudyMessage[],
    entries: readonly ChangeFeedEntry[],
  ): { messages: StudyMessage[]; settled: (error?: unknown, texts?: number) => void };
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

const durationBucketsMs = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];
const requestBucketsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

interface Instruments {
  lagSequences: Gauge;
  lagSeconds: Gauge;
  entriesRead: Counter;
  messagesEnqueued: Counter;
  studiesWritten: Counter;
  writerDuration: Histogram;
  dequeueCount: Histogram;
  poisoned: Counter;
  fhirRequestDuration: Histogram;
  dicomRequestDuration: Histogram;
  failures: Counter;
}

function createInstruments(meter: Meter): Instruments {
  return {
    lagSequences: meter.createGauge(MetricName.lagSequences, {
      description: 'Newest change-feed sequence minus the checkpoint, after each poll',
      unit: '{entry}',
    }),
    lagSeconds: meter.createGauge(MetricName.lagSeconds, {
      description: "Time between the checkpoint's change-feed entry and the newest entry, after each poll",
      unit: 's',
    }),
    entriesRead: meter.createCounter(MetricName.entriesRead, { description: 'Change-feed rows read', unit: '{entry}' }),
    messagesEnqueued: meter.createCounter(MetricName.messagesEnqueued, {
      description: 'Study messages put on the study queue',
      unit: '{message}',
    }),
    studiesWritten: meter.createCounter(MetricName.studiesWritten, {
      description: 'Study messages handled by the writer, by outcome',
      unit: '{study}',
    }),
    writerDuration: meter.createHistogram(MetricName.writerDuration, {
      description: 'Duration of one writer invocation',
      unit: 'ms',
      advice: { explicitBucketBoundaries: durationBucketsMs },
    }),
    dequeueCount: meter.createHistogram(MetricName.dequeueCount, {
      description: 'Dequeue count of the messages the writer handles (1 = first attempt)',
      unit: '{attempt}',
      advice: { explicitBucketBoundaries: [1, 2, 3, 4, 5, 6, 10] },
    }),
    poisoned: meter.createCounter(MetricName.poisoned, {
      description: 'Study messages taken off the poison queue',
      unit: '{message}',
    }),
    fhirRequestDuration: meter.createHistogram(MetricName.fhirRequestDuration, {
      description: 'FHIR requests, by operation and outcome',
      unit: 'ms',
      advice: { explicitBucketBoundaries: requestBucketsMs },
    }),
    dicomRequestDuration: meter.createHistogram(MetricName.dicomRequestDuration, {
      description: 'DICOMweb requests, by operation and outcome',
      unit: 'ms',
      advice: { explicitBucketBoundaries: requestBucketsMs },
    }),
    failures: meter.createCounter(MetricName.failures, {
      description: 'Failure records written, by category',
      unit: '{failure}',
    }),
  };
}

function errorMessage(error: unknown): string {
  return scrubText(error instanceof Error ? error.message : String(error));
}

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
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
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

  /**
   * One message span per study of a poller flush; each message carries its own span's traceparent.
   * Each change is a trace of its own (a root span linked to the poll's span): in Application Insights one
   * operation is one change, from the poller through the queue to the writer and its FHIR/DICOM calls, rather than
   * every study of a poll in one operation.
   */
  pollTracing(): PollTracing {
    return {
      beforeSend: (messages, entries) => {
        const poll = trace.getSpanContext(contextApi.active());
        const links = poll && isSpanContextValid(poll) ? [{ context: poll }] : [];
        const newest = new Map<string, string>();
        for (const entry of entries) {
          const key = `${entry.partitionName ?? ''}\u0000${entry.studyInstanceUid}`;
          const known = newest.get(key);
          if (entry.timestamp && (!known || entry.timestamp > known)) newest.set(key, entry.timestamp);
        }
        const spans: Span[] = [];
        const stamped = messages.map((message) => {
          const entryTime = newest.get(`${message.partition ?? ''}\u0000${message.study}`);
          const span = this.tracer.startSpan(SpanName.enqueue, {
            kind: SpanKind.PRODUCER,
            root: true,
            links,
            attributes: {
              ...correlationAttributes({
                study: message.study,
                sequence: message.maxSequence,
                ...partitionOf(message),
              }),
              [Attr.changes]: message.changes.length,
              [Attr.messagingSystem]: 'azure_queue',
              [Attr.queue]: studyQueueName,
              ...(entryTime ? { [Attr.entryTime]: entryTime } : {}),
            },
          });
          spans.push(span);
          const traceparent = formatTraceparent(span.spanContext()) ?? message.traceparent;
          return traceparent ? { ...message, traceparent } : message;
        });
        return {
          messages: stamped,
          settled: (error, texts) => {
            if (texts !== undefined && error === undefined) this.instruments.messagesEnqueued.add(texts);
            for (const span of spans) {
              if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
              span.end();
            }
          },
        };
      },
    };
  }

  recordEntriesRead(count: number): void {
    if (count > 0) this.instruments.entriesRead.add(count);
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

function partitionOf(message: StudyMessage): { partition?: string } {
  return message.partition ? { partition: message.partition } : {};
}

/** Telemetry that goes nowhere, whatever providers are registered (the CLI, unit tests). */
export const noopTelemetry = new Telemetry({
  tracerProvider: new ProxyTracerProvider(),
  meterProvider: { getMeter: () => createNoopMeter() },
  loggerProvider: { getLogger: () => createNoopLogger() },
});
