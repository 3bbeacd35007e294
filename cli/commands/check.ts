/**
 * `dicom-cast check`: reads the configuration the way the Functions app does (environment, local.settings.json,
 * Key Vault) and checks, for each server, the authentication settings, that a token can be obtained and that one
 * cheap authenticated call succeeds; also that the configuration validates and storage answers.
 * Prints one line per step; a failure gets one line with the likely cause. Never prints a secret or a token.
 */
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { parseArgs } from 'node:util';
import {
  createAuthorizationProvider,
  loadAuthConfig,
  type AuthConfig,
  type AuthServer,
} from '../../shared/auth/index.js';
import { createTokenHttpClient } from '../../shared/auth/oauth2TokenSource.js';
import {
  loadAppConfig,
  parseStorage,
  serverUrl,
  settingDefinitions,
  type StorageConnection,
} from '../../shared/config/appConfig.js';
import { describeNetworkCode, type KeyVaultOptions } from '../../shared/config/keyVaultSecrets.js';
import { findUnresolvedReferences, loadSettings, type LoadedSettings } from '../../shared/config/loadSettings.js';
import { readSetting, type FlatSettings } from '../../shared/config/settingsSource.js';
import { unresolvedReferenceMessage } from '../../shared/config/keyVaultReference.js';
import { ConfigurationError } from '../../shared/errors/errors.js';
import { createServerHttpClient, ServerRequestError } from '../../shared/http/serverHttpClient.js';
import { studyQueueName } from '../../shared/queue/queueNames.js';
import { describePaging, judgeCapabilityStatement } from './fhirServerNeeds.js';
import { isPlainHttpConnectionString, storageCredential } from '../../shared/state/storageClients.js';

export interface CheckDeps {
  /** Default process.env. */
  env?: FlatSettings;
  /** Where local.settings.json is looked for. Default process.cwd(). */
  cwd?: string;
  /** Receives each output line. Default console.log. */
  out?: (line: string) => void;
  /** Key Vault client options (tests: the vault's CA). */
  keyVault?: KeyVaultOptions;
}

const usage = `Usage: dicom-cast check [options]

Reads the configuration as the Functions app does (environment, local.settings.json in the current folder,
Key Vault when KeyVault:Endpoint is set), then checks the configuration, storage, and for the DICOM and the
FHIR server: the authentication settings, a token, and one authenticated call. Exit code 0 only when all pass.

  --timeout SECONDS   per request (default 15)
  --skip-storage      do not check AzureWebJobsStorage
  --help`;

type Status = 'ok' | 'FAIL' | 'warn' | 'auth' | 'info';

class Report {
  failures = 0;
  constructor(private readonly out: (line: string) => void) {}
  heading(text: string) {
    this.out(text);
  }
  line(status: Status, text: string) {
    if (status === 'FAIL') this.failures++;
    this.out(`  ${status.padEnd(5)} ${text}`);
  }
}

export async function run(args: string[]): Promise<number> {
  return runCheck(args);
}

export async function runCheck(args: string[], deps: CheckDeps = {}): Promise<number> {
  const out = deps.out ?? ((line: string) => console.log(line));
  let options: { timeout?: string; 'skip-storage'?: boolean; help?: boolean };
  try {
    options = parseArgs({
      args,
      options: {
        timeout: { type: 'string' },
        'skip-storage': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    out(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (options.help) {
    out(usage);
    return 0;
  }
  const timeoutSeconds = options.timeout === undefined ? 15 : Number(options.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    out(`--timeout must be a positive number of seconds\n\n${usage}`);
    return 2;
  }
  const timeoutMs = timeoutSeconds * 1000;
  const report = new Report(out);

  const settings = await checkSettings(report, deps, timeoutMs);
  if (!settings) {
    out('Result: FAIL');
    return 1;
  }
  checkConfiguration(report, settings);
  if (!options['skip-storage']) await checkStorage(report, settings, timeoutMs);
  const dicomPassed = await checkServer(report, settings, 'DicomWeb', timeoutMs);
  const fhirPassed = await checkServer(report, settings, 'Fhir', timeoutMs);

  const passed = dicomPassed && fhirPassed && report.failures === 0;
  out(
    passed
      ? 'Result: PASS'
      : `Result: FAIL (${report.failures} problem${report.failures === 1 ? '' : 's'}; ` +
          `DICOM server ${dicomPassed ? 'ok' : 'failed'}, FHIR server ${fhirPassed ? 'ok' : 'failed'})`,
  );
  return passed ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Settings and configuration

async function checkSettings(report: Report, deps: CheckDeps, timeoutMs: number): Promise<FlatSettings | undefined> {
  report.heading('Settings');
  const common = { ...(deps.env ? { env: deps.env } : {}), ...(deps.cwd ? { cwd: deps.cwd } : {}) };
  let loaded: LoadedSettings;
  try {
    loaded = await loadSettings({ ...common, keyVault: { timeoutMs: Math.max(timeoutMs, 30_000), ...deps.keyVault } });
  } catch (error) {
    report.line('FAIL', messageOf(error));
    // Go on without the vault, to check everything else.
    try {
      loaded = await loadSettings({ ...common, keyVault: false });
      report.line('warn', 'checking the rest without the Key Vault secrets');
    } catch {
      return undefined;
    }
  }
  const { sources } = loaded;
  const from = ['environment'];
  if (sources.localSettingsFile) from.push(`local.settings.json (${sources.localSettingsFile})`);
  report.line('ok', `read from: ${from.join(', ')}`);
  if (sources.encryptedLocalSettingsFile) {
    report.line(
      'warn',
      `${sources.encryptedLocalSettingsFile} is encrypted (IsEncrypted: true) and was not read: run func settings decrypt`,
    );
  }
  if (sources.keyVault) {
    const vault = sources.keyVault;
    const skipped = vault.skipped.length ? `, ${vault.skipped.length} disabled or expired skipped` : '';
    report.line(
      'ok',
      `Key Vault ${vault.endpoint}: ${vault.loaded.length} secret${vault.loaded.length === 1 ? '' : 's'} loaded${skipped} ` +
        `(read as the ${vault.credential})`,
    );
  }
  return loaded.settings;
}

function checkConfiguration(report: Report, settings: FlatSettings): void {
  report.heading('Configuration');
  const unresolved = findUnresolvedReferences(settings);
  for (const path of unresolved) report.line('FAIL', unresolvedReferenceMessage(path));
  try {
    loadAppConfig(settings);
    if (unresolved.length === 0) report.line('ok', 'configuration is valid');
  } catch (error) {
    // A reference already reported is not reported twice.
    if (!(error instanceof ConfigurationError && unresolved.includes(error.location.setting ?? ''))) {
      report.line('FAIL', messageOf(error));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Storage

async function checkStorage(report: Report, settings: FlatSettings, timeoutMs: number): Promise<void> {
  report.heading('Storage (AzureWebJobsStorage)');
  let storage: StorageConnection;
  try {
    storage = parseStorage(settings);
  } catch (error) {
    report.line('warn', `not checked: ${messageOf(error)}`);
    return;
  }
  const checkpointTable =
    readSetting(settings, settingDefinitions.checkpointTable.path.split(':'))?.trim() ||
    settingDefinitions.checkpointTable.default;
  // The app's clients, but with one try: a refused connection is reported as such, not as a timeout.
  const queue =
    storage.kind === 'connectionString'
      ? new QueueClient(storage.connectionString, studyQueueName, { retryOptions: { maxTries: 1 } })
      : new QueueClient(
          `${storage.queueServiceUri.replace(/\/+$/, '')}/${studyQueueName}`,
          storageCredential(storage.clientId),
          { retryOptions: { maxTries: 1 } },
        );
  const queueService = describeUrl(queue.url).replace(/\/[^/]*$/, '');
  try {
    const exists = await queue.exists({ abortSignal: AbortSignal.timeout(timeoutMs) });
    report.line(
      'ok',
      `queue service ${queueService} answered (queue ${studyQueueName} ${exists ? 'exists' : 'not created yet: the app creates it'})`,
    );
  } catch (error) {
    report.line('FAIL', `queue service ${queueService}: ${storageCause(error, timeoutMs, 'Queue')}`);
  }
  const tableOptions = { retryOptions: { maxRetries: 0 } };
  const table =
    storage.kind === 'connectionString'
      ? TableClient.fromConnectionString(storage.connectionString, checkpointTable, {
          ...tableOptions,
          allowInsecureConnection: isPlainHttpConnectionString(storage.connectionString),
        })
      : new TableClient(storage.tableServiceUri, checkpointTable, storageCredential(storage.clientId), {
          ...tableOptions,
          allowInsecureConnection: storage.tableServiceUri.startsWith('http://'),
        });
  const tableService = describeUrl(table.url);
  try {
    await table
      .listEntities({ abortSignal: AbortSignal.timeout(timeoutMs), queryOptions: { select: ['PartitionKey'] } })
      .byPage({ maxPageSize: 1 })
      .next();
    report.line('ok', `table service ${tableService} answered (table ${checkpointTable} exists)`);
  } catch (error) {
    if (statusOf(error) === 404) {
      report.line(
        'ok',
        `table service ${tableService} answered (table ${checkpointTable} not created yet: the app creates it)`,
      );
    } else {
      report.line('FAIL', `table service ${tableService}: ${storageCause(error, timeoutMs, 'Table')}`);
    }
  }
}

function storageCause(error: unknown, timeoutMs: number, service: 'Queue' | 'Table'): string {
  const { name, code } = error as { name?: unknown; code?: unknown };
  const status = statusOf(error);
  if (name === 'AbortError') return `timed out after ${timeoutMs / 1000} s`;
  if (status === undefined) {
    return typeof code === 'string' ? describeNetworkCode(code, 'the storage account') : 'network error';
  }
  const codeText = typeof code === 'string' ? ` ${code}` : '';
  if (status === 403 && code === 'AuthenticationFailed') {
    return `HTTP 403${codeText}: the account key or SAS in AzureWebJobsStorage is wrong or expired`;
  }
  if (status === 403) {
    return `HTTP 403${codeText}: the identity lacks the Storage ${service} Data Contributor role on the account`;
  }
  return `HTTP ${status}${codeText}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Servers

const serverNames: Record<AuthServer, string> = { DicomWeb: 'DICOM server', Fhir: 'FHIR server' };

async function checkServer(
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
    report.line('FAIL', messageOf(error));
    return false;
  }
  report.line('auth', describeAuth(config));

  const authorization = createAuthorizationProvider(config, endpoint, { http: createTokenHttpClient(timeoutMs) });
  if (config.kind !== 'none') {
    try {
      await authorization.authorizationFor(endpoint);
      report.line('ok', 'token obtained');
    } catch (error) {
      report.line('FAIL', `token: ${tokenCause(error, config)}`);
      return false;
    }
  }
  const http = createServerHttpClient({ baseUrl: endpoint, authorization, timeoutMs });
  const context: CallContext = { report, server, config, endpoint };
  if (server === 'DicomWeb') {
    const version =
      readSetting(settings, ['DicomWeb', 'ChangeFeed', 'Version'])?.trim().toLowerCase() === 'v1' ? 'v1' : 'v2';
    await call(context, () => http.get(`${version}/changefeed/latest`, { params: { includeMetadata: false } }), {
      path: `${version}/changefeed/latest`,
      accept: (body) => {
        const sequence = (body as { sequence?: unknown; Sequence?: unknown } | null)?.sequence;
        return typeof sequence === 'number' ? `latest sequence ${sequence}` : 'change feed answered';
      },
    });
  } else {
    let statement: unknown;
    const reachable = await call(
      context,
      () => http.get('metadata', { headers: { Accept: 'application/fhir+json' } }),
      {
        path: 'metadata',
        accept: (body) => {
          statement = body;
          return checkCapabilityStatement(body);
        },
      },
    );
    // What the sync needs of the server (transactions, conditional create, If-Match), from what it says it supports.
    if (reachable === 'passed') {
      for (const finding of judgeCapabilityStatement(statement)) report.line(finding.status, finding.text);
    }
    // /metadata is anonymous on most servers (Azure's too): this search is what proves the token is accepted.
    if (reachable !== 'unreachable') {
      const searched = await call(
        context,
        () => http.get('Patient', { params: { _summary: 'count' }, headers: { Accept: 'application/fhir+json' } }),
        {
          path: 'Patient?_summary=count',
          accept: () => (config.kind === 'none' ? 'search answered' : 'token accepted'),
        },
      );
      if (searched === 'passed') {
        let page: unknown;
        const paged = await call(
          context,
          () => http.get('Patient', { params: { _count: 1 }, headers: { Accept: 'application/fhir+json' } }),
          {
            path: 'Patient?_count=1',
            accept: (body) => {
              page = body;
              return 'searchset answered';
            },
          },
        );
        if (paged === 'passed') {
          const finding = describePaging(page, endpoint);
          report.line(finding.status, finding.text);
        }
      }
    }
  }
  return report.failures === failuresBefore;
}

interface CallContext {
  report: Report;
  server: AuthServer;
  config: AuthConfig;
  endpoint: string;
}

/** Thrown by an `accept` check to fail a 200 answer. */
class UnacceptableAnswer extends Error {}

async function call(
  { report, server, config, endpoint }: CallContext,
  send: () => Promise<{ status: number; data: unknown; headers: Record<string, unknown> }>,
  what: { path: string; accept: (body: unknown) => string },
): Promise<'passed' | 'failed' | 'unreachable'> {
  const label = `GET ${describeUrl(endpoint)}/${what.path}`;
  let response: { status: number; data: unknown; headers: Record<string, unknown> };
  try {
    response = await send();
  } catch (error) {
    const host = new URL(endpoint).host;
    const cause =
      error instanceof ServerRequestError
        ? describeNetworkCode(error.code === 'ECONNABORTED' ? 'ETIMEDOUT' : error.code, host)
        : messageOf(error);
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

function checkCapabilityStatement(body: unknown): string {
  const statement = body as { resourceType?: unknown; fhirVersion?: unknown; software?: { name?: unknown } } | null;
  if (statement?.resourceType !== 'CapabilityStatement') {
    throw new UnacceptableAnswer('not a CapabilityStatement: check that Fhir:Endpoint is the FHIR base URL');
  }
  const version = typeof statement.fhirVersion === 'string' ? statement.fhirVersion : 'none';
  if (!/^4\.0\.\d+$/.test(version)) {
    throw new UnacceptableAnswer(
      `FHIR version ${version}: DICOM Cast writes FHIR R4 (4.0.x); point Fhir:Endpoint at an R4 server`,
    );
  }
  const software = typeof statement.software?.name === 'string' ? ` (${statement.software.name})` : '';
  return `FHIR ${version}${software}`;
}

const roles: Record<AuthServer, string> = {
  DicomWeb: 'DICOM Data Reader (enough for DICOM Cast) or DICOM Data Owner on the DICOM service',
  Fhir: 'FHIR Data Contributor on the FHIR service',
};

function responseCause(
  response: { status: number; headers: Record<string, unknown> },
  server: AuthServer,
  config: AuthConfig,
): string {
  const status = response.status;
  if (status === 401) {
    if (config.kind === 'none') {
      return `HTTP 401: the server wants a token, but ${server}:Authentication:Enabled is false`;
    }
    const challenge = challengeDescription(response.headers['www-authenticate']);
    return (
      `HTTP 401${challenge ? ` (${challenge})` : ''}: the server refused the token; audience in use: ${audienceOf(config)}. ` +
      `It must be the server's audience (${server === 'DicomWeb' ? 'Azure DICOM service: https://dicom.healthcareapis.azure.com' : 'Azure FHIR service: its own URL'}) ` +
      "and the identity must be in the server's tenant"
    );
  }
  if (status === 403) {
    if (config.kind === 'none') return `HTTP 403: the server refuses anonymous calls; turn on ${server}:Authentication`;
    return `HTTP 403: ${identityOf(config)} lacks a data role: assign ${roles[server]}`;
  }
  if (status === 404) {
    return server === 'DicomWeb'
      ? 'HTTP 404: no change feed there; DicomWeb:Endpoint must be the service URL without /v1 or /v2, and DicomWeb:ChangeFeed:Version match the server'
      : 'HTTP 404: check that Fhir:Endpoint is the FHIR base URL';
  }
  if (status === 429 || status >= 500) return `HTTP ${status}: the server is throttling or failing; try again later`;
  if (status >= 300 && status < 400) return `HTTP ${status}: redirected (not followed); check the endpoint URL`;
  return `HTTP ${status}`;
}

/** `error` and `error_description` of a Bearer challenge (RFC 6750); nothing else from the header. */
function challengeDescription(header: unknown): string {
  if (typeof header !== 'string') return '';
  const field = (name: string) => new RegExp(`${name}="([^"]{0,300})"`, 'i').exec(header)?.[1];
  return [field('error'), field('error_description')].filter(Boolean).join(': ');
}

function describeAuth(config: AuthConfig): string {
  const prefix = `${config.server}:Authentication`;
  switch (config.kind) {
    case 'none':
      return `none (${prefix}:Enabled is false): no token is sent`;
    case 'managedIdentity':
      return (
        `ManagedIdentity (${config.clientId ? `user-assigned, client id ${config.clientId}` : 'system-assigned'}), ` +
        `audience ${config.resource}, scope ${config.resource}/.default`
      );
    case 'oauth2':
      return (
        `${config.grantType === 'client_credentials' ? 'OAuth2ClientCredential' : 'OAuth2UserPasswordCredential'}, ` +
        `token endpoint ${describeUrl(config.tokenUri)}, client id ${config.clientId}, ${audienceOf(config)}`
      );
  }
}

function audienceOf(config: AuthConfig): string {
  if (config.kind === 'managedIdentity') return `${config.resource} (scope ${config.resource}/.default)`;
  if (config.kind === 'oauth2') {
    const requested = [
      config.scope !== undefined ? `scope ${config.scope}` : undefined,
      config.resource !== undefined ? `resource ${config.resource}` : undefined,
    ].filter(Boolean);
    return requested.length ? requested.join(', ') : "no scope or resource requested (the token endpoint's default)";
  }
  return 'none';
}

function identityOf(config: AuthConfig): string {
  if (config.kind === 'managedIdentity') {
    return config.clientId
      ? `the user-assigned managed identity ${config.clientId}`
      : 'the system-assigned managed identity';
  }
  if (config.kind === 'oauth2') {
    return config.grantType === 'password'
      ? `the user of ${config.settingPrefix}:Username`
      : `the application (client id ${config.clientId})`;
  }
  return 'the caller';
}

function tokenCause(error: unknown, config: AuthConfig): string {
  const message = messageOf(error);
  const network = /could not be reached \(([A-Z_0-9]+)\)/.exec(message)?.[1];
  if (network && config.kind === 'oauth2') {
    return `token endpoint ${describeUrl(config.tokenUri)}: ${describeNetworkCode(network === 'ECONNABORTED' ? 'ETIMEDOUT' : network, new URL(config.tokenUri).host)}`;
  }
  const hints: Array<[RegExp, string]> = [
    [/\binvalid_client\b/, 'check the client id and client secret (an expired secret looks the same)'],
    [/\binvalid_grant\b/, 'check the user name and password (or the account is locked, or needs MFA)'],
    [/\b(invalid_scope|invalid_target|invalid_resource)\b|AADSTS500011/, 'check the Scope / Resource requested'],
    [/\bunauthorized_client\b/, 'the client may not use this grant type'],
  ];
  const hint = hints.find(([pattern]) => pattern.test(message))?.[1];
  return hint ? `${message}; likely cause: ${hint}` : message;
}

// ---------------------------------------------------------------------------------------------------------------

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Origin and path only: no user info, no query (a SAS or a key may hide there). */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(invalid URL)';
  }
}
