/**
 * `dicom-cast check` on one server (DICOM or FHIR): its endpoint setting, the authentication settings, a token, then
 * the calls that show the server answers and accepts the token (the change feed, Orthanc's APIs, or FHIR's).
 */
import type { AxiosInstance } from 'axios';
import {
  createAuthorizationProvider,
  loadAuthConfig,
  type AuthConfig,
  type AuthServer,
} from '../../../shared/auth/index.js';
import { createTokenHttpClient } from '../../../shared/auth/oauth2TokenSource.js';
import { serverUrl } from '../../../shared/config/settingSchemas.js';
import { readSetting, type FlatSettings } from '../../../shared/config/settingsSource.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { errorMessage } from '../../../shared/lib/errorDetails.js';
import { describeAuth, tokenCause } from './authDiagnosis.js';
import { call, type CallContext, type CheckCall } from './call.js';
import { checkFhirServer } from './fhirChecks.js';
import { checkOrthanc, isOrthancSource, orthancRestEndpoint } from './orthanc.js';
import { describeUrl, type Report } from './report.js';

const serverNames: Record<AuthServer, string> = { DicomWeb: 'DICOM server', Fhir: 'FHIR server' };

/** True when every step for this server passed. */
export async function checkServer(
  report: Report,
  settings: FlatSettings,
  server: AuthServer,
  timeoutMs: number,
): Promise<boolean> {
  const endpointPath = `${server}:Endpoint`;
  const rawEndpoint = readSetting(settings, endpointPath.split(':'));
  const parsed = rawEndpoint === undefined ? undefined : serverUrl.safeParse(rawEndpoint);
  if (!parsed?.success) {
    report.heading(`${serverNames[server]} (${endpointPath})`);
    const reason = parsed ? parsed.error.issues.map((issue) => issue.message).join('; ') : 'is not set';
    report.line('FAIL', `not checked: ${endpointPath} ${reason}`);
    return false;
  }
  const endpoint = parsed.data;
  report.heading(`${serverNames[server]} ${describeUrl(endpoint)} (${endpointPath})`);
  const failuresBefore = report.failures;

  let config: AuthConfig;
  try {
    config = loadAuthConfig(settings, server, endpoint);
  } catch (error) {
    report.line('FAIL', errorMessage(error));
    return false;
  }
  report.line('auth', describeAuth(config));

  const authorization = createAuthorizationProvider(config, endpoint, { http: createTokenHttpClient(timeoutMs) });
  if (config.kind !== 'none') {
    try {
      await authorization.authorizationFor(endpoint);
      report.line('ok', config.kind === 'basic' ? 'user name and password set' : 'token obtained');
    } catch (error) {
      report.line('FAIL', `token: ${tokenCause(error, config)}`);
      return false;
    }
  }
  const http = createServerHttpClient({ baseUrl: endpoint, authorization, timeoutMs });
  const context: CallContext = { report, server, config, endpoint };
  const check: CheckCall = (send, what) => call(context, send, what);
  if (server === 'Fhir') {
    await checkFhirServer(check, { report, http, config, endpoint });
  } else if (isOrthancSource(settings)) {
    const restEndpoint = orthancRestEndpoint(settings, endpoint);
    await checkOrthanc(
      { rest: (send, what) => call({ ...context, endpoint: restEndpoint }, send, what), dicomWeb: check },
      { rest: createServerHttpClient({ baseUrl: restEndpoint, authorization, timeoutMs }), dicomWeb: http },
    );
  } else {
    await checkChangeFeed(check, http, settings);
  }
  return report.failures === failuresBefore;
}

/** The Azure DICOM service: the latest change-feed entry of the configured API version. */
async function checkChangeFeed(check: CheckCall, http: AxiosInstance, settings: FlatSettings): Promise<void> {
  const version =
    readSetting(settings, ['DicomWeb', 'ChangeFeed', 'Version'])?.trim().toLowerCase() === 'v1' ? 'v1' : 'v2';
  await check(() => http.get(`${version}/changefeed/latest`, { params: { includeMetadata: false } }), {
    path: `${version}/changefeed/latest`,
    accept: (body) => {
      const sequence = (body as { sequence?: unknown; Sequence?: unknown } | null)?.sequence;
      return typeof sequence === 'number' ? `latest sequence ${sequence}` : 'change feed answered';
    },
  });
}
