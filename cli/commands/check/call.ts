/** `dicom-cast check`: one GET to a server, reported as one line that says what answered or why it failed. */
import type { AuthConfig, AuthServer } from '../../../shared/auth/index.js';
import { describeNetworkCode } from '../../../shared/config/keyVaultFailure.js';
import { ServerRequestError } from '../../../shared/http/serverHttpClient.js';
import { errorMessage } from '../../../shared/lib/errorDetails.js';
import { responseCause } from './authDiagnosis.js';
import { describeUrl, type Report } from './report.js';

export interface CallContext {
  report: Report;
  server: AuthServer;
  config: AuthConfig;
  endpoint: string;
}

export interface Answer {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
}

export type CallOutcome = 'passed' | 'failed' | 'unreachable';

/** What a call checks: the path shown, and `accept`, which describes a 2xx body or throws `UnacceptableAnswer`. */
export interface CallCheck {
  path: string;
  accept: (body: unknown) => string;
}

/** `call` bound to one server's context. */
export type CheckCall = (send: () => Promise<Answer>, what: CallCheck) => Promise<CallOutcome>;

/** Thrown by an `accept` check to fail a 2xx answer. */
export class UnacceptableAnswer extends Error {}

/** Sends, reports one line, and says whether it passed. */
export async function call(
  { report, server, config, endpoint }: CallContext,
  send: () => Promise<Answer>,
  what: CallCheck,
): Promise<CallOutcome> {
  const label = `GET ${describeUrl(endpoint)}/${what.path}`;
  let response: Answer;
  try {
    response = await send();
  } catch (error) {
    const host = new URL(endpoint).host;
    const cause =
      error instanceof ServerRequestError
        ? describeNetworkCode(error.code === 'ECONNABORTED' ? 'ETIMEDOUT' : error.code, host)
        : errorMessage(error);
    report.line('FAIL', `${label}: ${cause}`);
    return 'unreachable';
  }
  if (response.status >= 200 && response.status < 300) {
    try {
      report.line('ok', `${label}: HTTP ${response.status}, ${what.accept(response.data)}`);
      return 'passed';
    } catch (error) {
      if (!(error instanceof UnacceptableAnswer)) throw error;
      report.line('FAIL', `${label}: HTTP ${response.status}, ${error.message}`);
      return 'failed';
    }
  }
  report.line('FAIL', `${label}: ${responseCause(response, server, config)}`);
  return 'failed';
}
