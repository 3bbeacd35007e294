import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { runDriftSweepHandler } from '../shared/handlers/driftSweepHandler.js';
import { invocationLog } from '../shared/logging/log.js';
import { getRuntime } from '../shared/runtime/runtime.js';
import { invocationInfo } from '../shared/telemetry/traceContext.js';

/** Timer trigger: one bounded drift-sweep run (archive vs FHIR), resuming from its cursor. */
export async function driftSweep(timer: Timer, context: InvocationContext): Promise<void> {
  const log = invocationLog(context);
  if (timer.isPastDue) log('warn', 'Drift sweep run is past due');
  await runDriftSweepHandler(await getRuntime(), log, invocationInfo(context));
}

export const driftSweepOptions = {
  schedule: '%DicomCast__DriftSweep__Schedule%',
  runOnStartup: false,
  useMonitor: true,
  handler: driftSweep,
};

azureFunctions.app.timer('driftSweep', driftSweepOptions);
