import type { Counter, Gauge, Histogram, Meter } from '@opentelemetry/api';
import { MetricName } from './names.js';

const durationBucketsMs = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];
const requestBucketsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

/** Every metric the app records (names in names.ts), created once per worker from one meter. */
export interface Instruments {
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

export function createInstruments(meter: Meter): Instruments {
  const counter = (name: string, description: string, unit: string) => meter.createCounter(name, { description, unit });
  const gauge = (name: string, description: string, unit: string) => meter.createGauge(name, { description, unit });
  const histogram = (name: string, description: string, unit: string, buckets: number[]) =>
    meter.createHistogram(name, { description, unit, advice: { explicitBucketBoundaries: buckets } });
  return {
    lagSequences: gauge(
      MetricName.lagSequences,
      'Newest change-feed sequence minus the checkpoint, after each poll',
      '{entry}',
    ),
    lagSeconds: gauge(
      MetricName.lagSeconds,
      "Time between the checkpoint's change-feed entry and the newest entry, after each poll",
      's',
    ),
    entriesRead: counter(MetricName.entriesRead, 'Change-feed rows read', '{entry}'),
    messagesEnqueued: counter(MetricName.messagesEnqueued, 'Study messages put on the study queue', '{message}'),
    studiesWritten: counter(MetricName.studiesWritten, 'Study messages handled by the writer, by outcome', '{study}'),
    writerDuration: histogram(MetricName.writerDuration, 'Duration of one writer invocation', 'ms', durationBucketsMs),
    dequeueCount: histogram(
      MetricName.dequeueCount,
      'Dequeue count of the messages the writer handles (1 = first attempt)',
      '{attempt}',
      [1, 2, 3, 4, 5, 6, 10],
    ),
    poisoned: counter(MetricName.poisoned, 'Study messages taken off the poison queue', '{message}'),
    fhirRequestDuration: histogram(
      MetricName.fhirRequestDuration,
      'FHIR requests, by operation and outcome',
      'ms',
      requestBucketsMs,
    ),
    dicomRequestDuration: histogram(
      MetricName.dicomRequestDuration,
      'DICOMweb requests, by operation and outcome',
      'ms',
      requestBucketsMs,
    ),
    failures: counter(MetricName.failures, 'Failure records written, by category', '{failure}'),
  };
}
