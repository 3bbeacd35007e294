import { context, SpanKind } from '@opentelemetry/api';
import { dicomWebApiVersionOf } from '../dicomweb/apiVersion.js';
import { runDriftSweep, type DriftSweepResult } from '../drift/driftSweep.js';
import { createSweepCursorStore } from '../drift/sweepCursor.js';
import type { Log } from '../logging/log.js';
import type { Runtime } from '../runtime/runtime.js';
import { Attr, SpanName, SweepAttr, sweepDriftAttr } from '../telemetry/names.js';
import { contextFromTraceparent, type InvocationInfo } from '../telemetry/traceContext.js';

/**
 * One drift-sweep run (when DicomCast:DriftSweep:Enabled, by default for Orthanc): compares a bounded slice of the
 * archive and of FHIR, enqueues a resync per drift, saves its cursor. Its cost (pages, requests, seconds) and what
 * it found go on the run's span and in one log record.
 */
export async function runDriftSweepHandler(
  runtime: Runtime,
  log: Log,
  invocation: InvocationInfo = {},
): Promise<DriftSweepResult | undefined> {
  const { config, telemetry } = runtime;
  const sweep = config.dicomCast.driftSweep;
  if (!sweep.enabled) {
    log('debug', 'Drift sweep is off (DicomCast:DriftSweep:Enabled)');
    return undefined;
  }
  const parent = contextFromTraceparent(invocation.traceparent, context.active());
  return telemetry.inSpan(
    SpanName.driftSweep,
    { kind: SpanKind.INTERNAL, attributes: invocation.id ? { [Attr.invocationId]: invocation.id } : {} },
    parent,
    async (span) => {
      const sweepLog = telemetry.log(log, invocation.id ? { invocationId: invocation.id } : {});
      const result = await runDriftSweep(
        {
          dicomHttp: runtime.dicomHttp,
          version: dicomWebApiVersionOf(config),
          mapping: runtime.mapping,
          fhir: runtime.fhirPages,
          queue: runtime.studyQueue,
          cursors: createSweepCursorStore(runtime.checkpointTable, config.dicomWeb.endpoint),
          now: Date.now,
          log: sweepLog,
        },
        { pageSize: sweep.pageSize, maxPages: sweep.maxPages, maxMs: sweep.maxSeconds * 1000 },
      );
      span.setAttributes({
        [SweepAttr.pages]: result.pages,
        [SweepAttr.requests]: result.requests,
        [SweepAttr.studiesChecked]: result.studiesChecked,
        [SweepAttr.enqueued]: result.enqueued,
        [SweepAttr.confirmedGone]: result.confirmedGone,
        [SweepAttr.complete]: result.complete,
        [SweepAttr.phase]: result.phase,
        [SweepAttr.durationMs]: result.durationMs,
        [SweepAttr.archiveMs]: result.archiveMs,
        [SweepAttr.fhirMs]: result.fhirMs,
        ...Object.fromEntries(Object.entries(result.drifts).map(([kind, count]) => [sweepDriftAttr(kind), count])),
      });
      sweepLog('info', 'Drift sweep ran', { ...result });
      return result;
    },
  );
}
