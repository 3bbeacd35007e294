/**
 * The names of everything this app sends to Application Insights. They are what the KQL queries of
 * docs/operate.md filter on: change one here and the queries there change with it.
 * OpenTelemetry metrics land in `customMetrics` (attributes in customDimensions), CONSUMER spans in `requests`,
 * PRODUCER, CLIENT and INTERNAL spans in `dependencies`, log records in `traces`.
 */
export const meterName = 'dicom-cast';

export const MetricName = {
  /** Gauge: newest change-feed sequence minus the checkpoint's, after each poll. */
  lagSequences: 'dicomcast.changefeed.lag.sequences',
  /** Gauge: time between the checkpoint's change-feed entry and the newest entry, after each poll. */
  lagSeconds: 'dicomcast.changefeed.lag.seconds',
  /** Counter: change-feed rows read (bad rows included). */
  entriesRead: 'dicomcast.changefeed.entries_read',
  /** Counter: study messages put on the study queue. */
  messagesEnqueued: 'dicomcast.queue.messages_enqueued',
  /** Counter: study messages handled by the writer, by outcome. */
  studiesWritten: 'dicomcast.studies.written',
  /** Histogram (ms): one writer invocation, by outcome. */
  writerDuration: 'dicomcast.writer.duration',
  /** Histogram: the dequeue count of each message the writer handles (1 = first attempt). */
  dequeueCount: 'dicomcast.writer.dequeue_count',
  /** Counter: messages taken off the poison queue. */
  poisoned: 'dicomcast.writer.poisoned',
  /** Histogram (ms): FHIR requests, by operation and outcome. */
  fhirRequestDuration: 'dicomcast.fhir.request.duration',
  /** Histogram (ms): DICOMweb requests, by operation and outcome. */
  dicomRequestDuration: 'dicomcast.dicom.request.duration',
  /** Counter: failure records written, by category. */
  failures: 'dicomcast.failures',
} as const;

export const SpanName = {
  poll: 'dicomcast.poll',
  enqueue: 'dicomcast.enqueue',
  write: 'dicomcast.write',
  poison: 'dicomcast.poison',
  driftSweep: 'dicomcast.drift_sweep',
} as const;

export const Attr = {
  /** `<study UID>@<change-feed sequence>`: the one id of a change, on both sides of the queue. */
  correlationId: 'dicomcast.correlation_id',
  study: 'dicom.study.instance_uid',
  series: 'dicom.series.instance_uid',
  instance: 'dicom.sop.instance_uid',
  partition: 'dicom.partition',
  /** The highest change-feed sequence of the change (a study message's maxSequence). */
  sequence: 'dicomcast.changefeed.sequence',
  /** When the newest change-feed entry of a study message was written on the DICOM server. */
  entryTime: 'dicomcast.changefeed.entry_time',
  changes: 'dicomcast.changes',
  outcome: 'dicomcast.outcome',
  category: 'dicomcast.failure.category',
  server: 'dicomcast.server',
  operation: 'dicomcast.operation',
  resourceType: 'fhir.resource_type',
  statusCode: 'http.response.status_code',
  messagingSystem: 'messaging.system',
  queue: 'messaging.destination.name',
  dequeueCount: 'messaging.azure_queue.dequeue_count',
  invocationId: 'faas.invocation_id',
} as const;

/** Attributes of the poll span (`dicomcast.poll`): what one poller run did and where it left the checkpoint. */
export const PollAttr = {
  entriesRead: 'dicomcast.entries_read',
  messagesEnqueued: 'dicomcast.messages_enqueued',
  badEntries: 'dicomcast.bad_entries',
  caughtUp: 'dicomcast.caught_up',
  lostRace: 'dicomcast.lost_race',
  checkpointSequence: 'dicomcast.checkpoint.sequence',
  latestSequence: 'dicomcast.changefeed.latest_sequence',
  lagSequences: 'dicomcast.changefeed.lag.sequences',
  lagSeconds: 'dicomcast.changefeed.lag.seconds',
} as const;

/** Attributes of the drift-sweep span (`dicomcast.drift_sweep`): its cost and what it found. */
export const SweepAttr = {
  pages: 'dicomcast.sweep.pages',
  requests: 'dicomcast.sweep.requests',
  studiesChecked: 'dicomcast.sweep.studies_checked',
  enqueued: 'dicomcast.sweep.enqueued',
  confirmedGone: 'dicomcast.sweep.confirmed_gone',
  complete: 'dicomcast.sweep.complete',
  phase: 'dicomcast.sweep.phase',
  durationMs: 'dicomcast.sweep.duration_ms',
  archiveMs: 'dicomcast.sweep.archive_ms',
  fhirMs: 'dicomcast.sweep.fhir_ms',
} as const;

/** The drift-sweep span's count of one kind of drift (`dicomcast.sweep.drift.<kind>`). */
export function sweepDriftAttr(kind: string): string {
  return `dicomcast.sweep.drift.${kind}`;
}

/** What the writer did with one message. The first five are syncStudy's outcomes. */
export type WriteOutcome =
  | 'created'
  | 'updated'
  | 'unchanged'
  | 'deleted'
  | 'absent'
  /** Bad data or a permanent refusal: recorded, not retried. */
  | 'failed'
  /** A transient fault: thrown so the host retries. */
  | 'retried'
  /** A transient fault on the last attempt: recorded, and the host moves the message to the poison queue. */
  | 'gave-up';

export type RequestOutcome =
  | 'success'
  | 'not-found'
  | 'conflict'
  | 'unauthorized'
  | 'throttled'
  | 'client-error'
  | 'server-error'
  | 'network-error';

export function requestOutcomeOf(status: number | undefined): RequestOutcome {
  if (status === undefined) return 'network-error';
  if (status >= 200 && status < 300) return 'success';
  if (status === 404 || status === 410) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server-error';
  return 'client-error';
}
