import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid, type InstanceSpec } from '../../../dev/samples/index.js';
import { getRuntime } from '../../../shared/runtime/runtime.js';
import { Attr, MetricName, SpanName } from '../../../shared/telemetry/names.js';
import { installTelemetry, type InstalledTelemetry } from '../../../shared/telemetry/installTelemetry.js';

/**
 * Telemetry of a real sync on the local stack (Azurite, DICOM stand-in, FHIR server, the exported handlers),
 * exported to in-memory exporters: the metrics, the trace of each change across the queue, and the absence of
 * patient data in everything exported.
 */
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const logRecords = new InMemoryLogRecordExporter();

const patients = [
  { name: 'Zanzibar^Quentin', id: 'PHI-7731-A' },
  { name: 'Oxbridge^Philippa', id: 'PHI-7731-B' },
  { name: 'Quillfeather^Ambrose', id: 'PHI-7731-C' },
];
const phi = patients.flatMap((patient) => [patient.id, ...patient.name.split('^'), patient.name]);

function spec(index: number, instance: number, overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  const patient = patients[index]!;
  return {
    studyUid: uid('telemetry', index),
    seriesUid: uid('telemetry', index, 'series'),
    sopUid: uid('telemetry', index, 'sop', instance),
    patientId: patient.id,
    patientName: patient.name,
    modality: 'CT',
    instanceNumber: instance,
    ...overrides,
  };
}

function lastMetrics(): MetricData[] {
  const exported = metricExporter.getMetrics();
  const last = exported[exported.length - 1];
  return last?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
}

function points(name: string): DataPoint<unknown>[] {
  const metric = lastMetrics().find((candidate) => candidate.descriptor.name === name);
  assert.ok(metric, `metric ${name} was exported`);
  return metric.dataPoints;
}

function sumOf(name: string, where: Record<string, unknown> = {}): number {
  return points(name)
    .filter((point) => Object.entries(where).every(([key, value]) => point.attributes[key] === value))
    .reduce((total, point) => total + (point.value as number), 0);
}

function histogramCount(name: string, where: Record<string, unknown> = {}): number {
  return points(name)
    .filter((point) => Object.entries(where).every(([key, value]) => point.attributes[key] === value))
    .reduce((total, point) => total + (point.value as Histogram).count, 0);
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, nested]) => [key, ...strings(nested)]);
  }
  return [];
}

describe('telemetry of a sync on the local stack', () => {
  let installed: InstalledTelemetry;
  let stack: LocalStack;
  let host: LocalFunctionsHost;
  const hostLines: string[] = [];
  let specs: InstanceSpec[];

  before(async () => {
    installed = installTelemetry({ spanExporter: spans, metricExporter, logExporter: logRecords });
    // No retry budget: the injected 503 below fails the invocation instead of being waited out inside it.
    stack = await startLocalStack({
      settings: { DicomWeb__ChangeFeed__PageSize: '5', DicomCast__RetryBudgetSeconds: '0' },
    });
    host = new LocalFunctionsHost({
      settings: stack.settings,
      queueOverrides: { visibilityTimeoutMs: 0 },
      log: (_level, functionName, ...args) =>
        hostLines.push(
          `${functionName} ${args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ')}`,
        ),
    });
    specs = [
      spec(0, 1),
      spec(0, 2),
      // A birth date that is not a date, holding the PatientID: a tag warning whose value must not be exported.
      spec(1, 1, { extra: { '00100030': { vr: 'DA', Value: [patients[1]!.id] } } }),
      spec(2, 1),
    ];
    await stack.dicom!.storeFiles(specs.map(makeInstanceFile));
    // The first FHIR request fails: one study is retried (dequeue count 2).
    stack.fhir!.failNext(1, 503);
    await host.runOnce();
    await installed.flush();
  });
  after(async () => {
    await installed.shutdown();
    await stack.close();
  });

  it('counts entries read, messages enqueued and studies written by outcome', async () => {
    assert.equal(sumOf(MetricName.entriesRead), specs.length);
    assert.equal(sumOf(MetricName.messagesEnqueued), 3);
    const invocations = host.writer.stats.invocations;
    assert.equal(invocations, 4, 'three studies, one of them twice');
    assert.equal(sumOf(MetricName.studiesWritten), invocations);
    assert.equal(sumOf(MetricName.studiesWritten, { [Attr.outcome]: 'retried' }), 1);
    // A writer that lost the race to create the shared Endpoint retries and finds its study written: unchanged.
    assert.equal(
      ['created', 'updated', 'unchanged']
        .map((outcome) => sumOf(MetricName.studiesWritten, { [Attr.outcome]: outcome }))
        .reduce((a, b) => a + b),
      3,
    );
    assert.equal((await stack.fhir!.all('ImagingStudy')).length, 3);
    assert.equal(histogramCount(MetricName.writerDuration), invocations);
  });

  it('records the dequeue count of each message the writer handles', () => {
    const [point] = points(MetricName.dequeueCount) as DataPoint<Histogram>[];
    assert.equal(point?.value.count, 4);
    assert.equal(point?.value.sum, 1 + 1 + 1 + 2);
    assert.equal(point?.value.max, 2);
  });

  it('records FHIR and DICOM requests by operation and outcome, with their latency', () => {
    assert.ok(
      histogramCount(MetricName.fhirRequestDuration, { [Attr.operation]: 'search', [Attr.outcome]: 'success' }) > 0,
    );
    assert.ok(
      histogramCount(MetricName.fhirRequestDuration, { [Attr.operation]: 'transaction', [Attr.outcome]: 'success' }) >=
        3,
    );
    assert.equal(
      histogramCount(MetricName.fhirRequestDuration, { [Attr.outcome]: 'server-error', [Attr.statusCode]: 503 }),
      1,
    );
    // Each study is read at least once (more when a writer retries after losing a race for the Endpoint).
    assert.ok(
      histogramCount(MetricName.dicomRequestDuration, { [Attr.operation]: 'metadata', [Attr.outcome]: 'success' }) >= 3,
    );
    assert.ok(histogramCount(MetricName.dicomRequestDuration, { [Attr.operation]: 'changefeed' }) >= 1);
    const fhir = points(MetricName.fhirRequestDuration) as DataPoint<Histogram>[];
    assert.equal(
      lastMetrics().find((m) => m.descriptor.name === MetricName.fhirRequestDuration)?.dataPointType,
      DataPointType.HISTOGRAM,
    );
    assert.ok(fhir.every((point) => (point.value.min ?? 0) >= 0 && (point.value.sum ?? 0) > 0));
  });

  it('reports the change-feed lag after the poll: caught up', () => {
    assert.deepEqual(
      points(MetricName.lagSequences).map((point) => point.value),
      [0],
    );
    assert.deepEqual(
      points(MetricName.lagSeconds).map((point) => point.value),
      [0],
    );
  });

  it('counts failure records by category, as the failure store holds them', async () => {
    const records = await (await getRuntime()).failures.list();
    const expected: Record<string, number> = {};
    for (const record of records) expected[record.category] = (expected[record.category] ?? 0) + 1;
    const counted: Record<string, number> = {};
    for (const point of lastMetrics().find((m) => m.descriptor.name === MetricName.failures)?.dataPoints ?? []) {
      counted[String(point.attributes[Attr.category])] = point.value as number;
    }
    assert.deepEqual(counted, expected);
  });

  it('traces each change across the queue: the writer span is a child of the poller span of that study', () => {
    assert.equal(
      new Set(
        spans
          .getFinishedSpans()
          .filter((span) => span.name === SpanName.enqueue)
          .map((span) => span.spanContext().traceId),
      ).size,
      3,
      'one trace per change',
    );
    const finished = spans.getFinishedSpans();
    const poll = finished.filter((span) => span.name === SpanName.poll);
    assert.equal(poll.length, 1);
    const enqueues = finished.filter((span) => span.name === SpanName.enqueue);
    const writes = finished.filter((span) => span.name === SpanName.write);
    assert.equal(enqueues.length, 3);
    assert.equal(writes.length, 4);
    for (const enqueue of enqueues) {
      assert.equal(enqueue.kind, SpanKind.PRODUCER);
      // Each change is a trace of its own, linked to the poll that found it.
      assert.equal(enqueue.parentSpanContext, undefined);
      assert.equal(enqueue.links[0]?.context.spanId, poll[0]!.spanContext().spanId);
      assert.notEqual(enqueue.spanContext().traceId, poll[0]!.spanContext().traceId);
      const study = enqueue.attributes[Attr.study] as string;
      const sequence = enqueue.attributes[Attr.sequence] as number;
      assert.equal(enqueue.attributes[Attr.correlationId], `${study}@${sequence}`);
      assert.match(String(enqueue.attributes[Attr.entryTime]), /^\d{4}-\d{2}-\d{2}T/);

      const ofStudy = writes.filter((span) => span.attributes[Attr.study] === study);
      assert.ok(ofStudy.length >= 1, `a write span for ${study}`);
      for (const write of ofStudy) {
        assert.equal(write.kind, SpanKind.CONSUMER);
        assert.equal(write.spanContext().traceId, enqueue.spanContext().traceId, 'one trace across the queue');
        assert.equal(write.parentSpanContext?.spanId, enqueue.spanContext().spanId);
        assert.equal(write.attributes[Attr.correlationId], enqueue.attributes[Attr.correlationId]);
        assert.equal(write.attributes[Attr.sequence], sequence);
        const requests = finished.filter(
          (span) => span.kind === SpanKind.CLIENT && span.parentSpanContext?.spanId === write.spanContext().spanId,
        );
        assert.ok(requests.some((span) => span.name.startsWith('FHIR ')));
        if (write.attributes[Attr.outcome] !== 'retried') {
          assert.ok(requests.some((span) => span.name === 'DICOM metadata'));
        }
      }
      const retried = ofStudy.filter((span) => span.attributes[Attr.outcome] === 'retried');
      for (const span of retried) assert.equal(span.status.code, 2, 'a retried attempt is an error span');
    }
    assert.deepEqual(writes.map((span) => span.attributes[Attr.dequeueCount]).sort(), [1, 1, 1, 2]);
  });

  it('gives every log line of a change its correlation id and the trace of that change', () => {
    const enqueues = spans.getFinishedSpans().filter((span) => span.name === SpanName.enqueue);
    const traceOf = new Map(enqueues.map((span) => [String(span.attributes[Attr.study]), span.spanContext().traceId]));
    const sequenceOf = new Map(
      enqueues.map((span) => [String(span.attributes[Attr.study]), String(span.attributes[Attr.sequence])]),
    );
    const records = logRecords.getFinishedLogRecords();
    const ofChanges = records.filter((record) => record.attributes[Attr.study] !== undefined);
    assert.ok(ofChanges.length >= 4, 'the writer logs each study');
    for (const record of ofChanges) {
      const study = record.attributes[Attr.study] as string;
      assert.equal(record.attributes[Attr.correlationId], `${study}@${sequenceOf.get(study)}`);
      assert.equal(record.spanContext?.traceId, traceOf.get(study), `log "${record.body as string}" is in the trace`);
    }
    const written = ofChanges.filter((record) =>
      ['Study created', 'Study updated', 'Study unchanged'].includes(record.body as string),
    );
    assert.equal(new Set(written.map((record) => record.attributes[Attr.study])).size, 3);
    assert.ok(records.some((record) => record.body === 'Change feed polled'));
  });

  it('exports no patient name and no PatientID: not in spans, log records, metrics or host log lines', () => {
    const exported: string[] = [];
    for (const span of spans.getFinishedSpans()) {
      exported.push(span.name, ...strings(span.attributes), span.status.message ?? '');
      for (const event of span.events) exported.push(event.name, ...strings(event.attributes));
    }
    for (const record of logRecords.getFinishedLogRecords()) {
      exported.push(...strings(record.body), ...strings(record.attributes));
    }
    for (const metric of lastMetrics()) {
      for (const point of metric.dataPoints) exported.push(metric.descriptor.name, ...strings(point.attributes));
    }
    exported.push(...hostLines);
    assert.ok(exported.length > 100);
    const text = exported.join('\n');
    for (const value of phi) assert.ok(!text.includes(value), `"${value}" must not be exported`);
    assert.ok(
      logRecords
        .getFinishedLogRecords()
        .some((record) => typeof record.body === 'string' && record.body.startsWith('Tag warning')),
      'the bad birth date was logged (without its value)',
    );
    for (const record of logRecords.getFinishedLogRecords()) {
      assert.ok(!Object.keys(record.attributes).some((key) => /value$/i.test(key)), 'no tag value attribute');
    }
  });
});
