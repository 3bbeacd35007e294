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
