import azureFunctions, { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { invocationLog } from '../shared/logging/log.js';
import { readStatus } from '../shared/ops/status.js';
import { getRuntime } from '../shared/runtime/runtime.js';

/**
 * `GET /api/status` (function key): checkpoint, newest change-feed entry, lag, queue depths and the last 24 hours'
 * failures by category, as JSON. The same figures as `dicom-cast status`; see shared/ops/status.ts.
 */
export async function status(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const body = await readStatus(await getRuntime());
    return { status: 200, jsonBody: body, headers: { 'Cache-Control': 'no-store' } };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    invocationLog(context)('error', `Status could not be read: ${reason}`);
    return { status: 503, jsonBody: { error: reason }, headers: { 'Cache-Control': 'no-store' } };
  }
}

export const statusOptions = {
  methods: ['GET' as const],
  authLevel: 'function' as const,
  route: 'status',
  handler: status,
};

azureFunctions.app.http('status', statusOptions);
