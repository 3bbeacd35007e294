import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { runPoll } from '../shared/handlers/pollHandler.js';
import { invocationLog } from '../shared/logging/log.js';
import { getRuntime } from '../shared/runtime/runtime.js';
import { invocationInfo } from '../shared/telemetry/traceContext.js';

/** Timer trigger: reads the DICOM change feed from the checkpoint and enqueues one message per changed study. */
export async function changeFeedPoller(timer: Timer, context: InvocationContext): Promise<void> {
  const log = invocationLog(context);
  if (timer.isPastDue) log('warn', 'Poller run is past due');
  await runPoll(await getRuntime(), log, invocationInfo(context));
}

export const changeFeedPollerOptions = {
  schedule: '%DicomCast__Schedule%',
  runOnStartup: false,
  useMonitor: true,
  handler: changeFeedPoller,
};

azureFunctions.app.timer('changeFeedPoller', changeFeedPollerOptions);
