import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run as runCheck } from '../../../cli/commands/check.js';
import { processIo } from '../../../cli/io.js';
import { startAzurite, type RunningAzurite } from '../../../dev/azurite.js';
import { startDicomServer, type RunningDicomServer } from '../../../dev/dicom-server/index.js';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { refusedOrigin } from '../../support/loopback.js';
import {
  startManagedIdentityTestServer,
  type ManagedIdentityTestServer,
  useLoopbackManagedIdentity,
} from '../../support/managedIdentityTestServer.js';
import { startOAuth2TestServer, type OAuth2TestServer } from '../../support/oauth2TestServer.js';
import { startKeyVaultTestServer, type KeyVaultTestServer } from '../../support/keyVaultTestServer.js';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '../../support/selfSignedCertificate.js';

// `dicom-cast check` against real servers on loopback: the DICOM service stand-in behind an OAuth2 client
// credential (the loopback token endpoint), the FHIR server behind a user-assigned managed identity (the loopback
// App Service identity endpoint, through the real ManagedIdentityCredential), Azurite for storage.
const identityHeader = 'check-identity-header-7a41';
const fhirClientId = '9d0b7a11-0000-4000-8000-0000000fa11c';
const dicomScope = 'https://dicom.healthcareapis.azure.com/.default';
const clientSecret = 'check-client-secret-Q9~x';

export interface CheckRun {
  code: number;
  lines: string[];
  output: string;
}

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Runs the real CLI entry point (`node dist/cli/main.js check`, or cli/main.ts through tsx when run from source). */
function spawnCheck(env: Record<string, string>, cwd: string): Promise<CheckRun> {
  const root = repositoryRoot();
  const fromSource = import.meta.url.endsWith('.ts');
  const args = fromSource
    ? ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'main.ts'), 'check', '--timeout', '10']
    : [join(root, 'dist', 'cli', 'main.js'), 'check', '--timeout', '10'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, lines: output.split('\n'), output }));
  });
}

describe('dicom-cast check', () => {
  let azurite: RunningAzurite;
  let tokens: OAuth2TestServer;
  let identity: ManagedIdentityTestServer;
  let dicom: RunningDicomServer;
  let fhir: RunningFhirServer;
  let dicomAccepts: 'valid-token' | 'nothing';
  let restoreEnvironment: () => void = () => undefined;
  let workDir: string;

  const bearer = (header: string | undefined) => (header?.startsWith('Bearer ') ? header.slice(7) : '');

  before(async () => {
    identity = await startManagedIdentityTestServer(identityHeader);
    restoreEnvironment = useLoopbackManagedIdentity(identity.endpoint, identityHeader);
    [azurite, tokens] = await Promise.all([
      startAzurite(),
      startOAuth2TestServer({
        expected: { grantType: 'client_credentials', clientId: 'dicom-cast', clientSecret, scope: dicomScope },
        now: Date.now,
      }),
    ]);
    dicom = await startDicomServer({
      authorize: (header) => dicomAccepts === 'valid-token' && tokens.isValid(bearer(header)),
    });
    fhir = await startFhirServer({
      authorize: (header) => {
        const issued = identity.issued.get(bearer(header));
        return issued?.clientId === fhirClientId && issued.resource === fhir.url;
      },
    });
    workDir = await mkdtemp(join(tmpdir(), 'dicom-cast-check-'));
  });

  after(async () => {
    restoreEnvironment();
    await Promise.all([azurite.close(), tokens.close(), identity.close(), dicom.close(), fhir.close()]);
    await rm(workDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    dicomAccepts = 'valid-token';
    tokens.failure = undefined;
  });

  const healthy = (): Record<string, string> => ({
    AzureWebJobsStorage: azurite.connectionString,
    DicomWeb__Endpoint: dicom.url,
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'OAuth2ClientCredential',
    DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: tokens.tokenUri,
    DicomWeb__Authentication__OAuth2ClientCredential__ClientId: 'dicom-cast',
    DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret: clientSecret,
    DicomWeb__Authentication__OAuth2ClientCredential__Scope: dicomScope,
    Fhir__Endpoint: fhir.url,
    Fhir__Authentication__Enabled: 'true',
    Fhir__Authentication__AuthenticationType: 'ManagedIdentity',
    Fhir__Authentication__ManagedIdentityCredential__ClientId: fhirClientId,
    IDENTITY_ENDPOINT: identity.endpoint,
    IDENTITY_HEADER: identityHeader,
  });

  async function check(env: Record<string, string>, args: string[] = ['--timeout', '5']): Promise<CheckRun> {
    const lines: string[] = [];
    const record = (text: string) => lines.push(...text.split('\n'));
    const code = await runCheck(args, processIo({ settings: { env, cwd: workDir }, out: record, err: record }));
    return { code, lines, output: lines.join('\n') };
  }

  /** The one line starting with `status` that matches `pattern`. */
  function line(run: CheckRun, status: 'ok' | 'FAIL' | 'auth' | 'warn' | 'info', pattern: RegExp): string {
    const found = run.lines.filter((text) => text.startsWith(`  ${status.padEnd(5)} `) && pattern.test(text));
    assert.equal(found.length, 1, `expected one ${status} line matching ${pattern} in:\n${run.output}`);
    return found[0] ?? '';
  }

  it('passes a healthy configuration: both servers, storage and configuration', async () => {
    const run = await check(healthy());
    assert.equal(run.code, 0, run.output);
    line(run, 'ok', /^ {2}ok {4}read from: environment$/);
    line(run, 'ok', /configuration is valid/);
    line(run, 'ok', /queue service http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 answered/);
    line(run, 'ok', /table service http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 answered/);
    assert.ok(run.lines.includes(`DICOM server ${dicom.url} (DicomWeb:Endpoint)`), run.output);
    line(
      run,
      'auth',
      new RegExp(
        `OAuth2ClientCredential, token endpoint ${tokens.tokenUri}, client id dicom-cast, scope https://dicom\\.healthcareapis\\.azure\\.com/\\.default`,
      ),
    );
    line(run, 'ok', new RegExp(`GET ${dicom.url}/v2/changefeed/latest: HTTP 200, latest sequence 0`));
    assert.ok(run.lines.includes(`FHIR server ${fhir.url} (Fhir:Endpoint)`), run.output);
    line(
      run,
      'auth',
      new RegExp(
        `ManagedIdentity \\(user-assigned, client id ${fhirClientId}\\), audience ${fhir.url}, scope ${fhir.url}/\\.default`,
      ),
    );
    assert.equal(run.lines.filter((text) => text === '  ok    token obtained').length, 2, run.output);
    line(run, 'ok', new RegExp(`GET ${fhir.url}/metadata: HTTP 200, FHIR 4\\.0\\.1 \\(dicom-cast-functions local`));
    line(run, 'ok', /^ {2}ok {4}transactions: supported$/);
    line(run, 'ok', /conditional create \(If-None-Exist\): supported for Patient, Endpoint, ImagingStudy$/);
    line(run, 'ok', /versioned update \(If-Match\): supported for Patient, Endpoint, ImagingStudy$/);
    line(run, 'info', /conditional update: supported for Patient, Endpoint, ImagingStudy \(not needed/);
    line(run, 'ok', new RegExp(`GET ${fhir.url}/Patient\\?_summary=count: HTTP 200, token accepted`));
    line(run, 'ok', new RegExp(`GET ${fhir.url}/Patient\\?_count=1: HTTP 200, searchset answered`));
    line(run, 'info', /paging: not seen, no next link for one Patient per page \(0 Patients\)/);
    assert.equal(run.lines.at(-1), 'Result: PASS');
    assert.ok(!run.output.includes('FAIL'));
  });

  it('uses the v1 change feed when DicomWeb:ChangeFeed:Version is v1', async () => {
    const run = await check({ ...healthy(), 'DicomWeb:ChangeFeed:Version': 'V1' }, ['--skip-storage']);
    assert.equal(run.code, 0, run.output);
    line(run, 'ok', new RegExp(`GET ${dicom.url}/v1/changefeed/latest: HTTP 200`));
  });

  it('wrong client secret: the token endpoint error and its description', async () => {
    const run = await check({
      ...healthy(),
      DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret: 'not-the-secret',
    });
    assert.equal(run.code, 1);
    const failure = line(run, 'FAIL', /^ {2}FAIL {2}token: /);
    assert.match(
      failure,
      new RegExp(`Token endpoint ${tokens.tokenUri} for the DicomWeb server refused the client_credentials request`),
    );
    assert.match(failure, /HTTP 400 invalid_client: Client authentication failed: unknown client or wrong secret\./);
    assert.match(failure, /likely cause: check the client id and client secret/);
    // The FHIR server still passes; the summary says which failed.
    line(run, 'ok', /metadata: HTTP 200/);
    assert.match(run.lines.at(-1) ?? '', /^Result: FAIL \(1 problem; DICOM server failed, FHIR server ok\)$/);
  });

  it('DICOM server answering 401: the audience in use', async () => {
    dicomAccepts = 'nothing';
    const issuedBefore = tokens.issued.length;
    const run = await check(healthy(), ['--skip-storage']);
    assert.equal(run.code, 1);
    const failure = line(run, 'FAIL', /changefeed\/latest/);
    assert.match(
      failure,
      /HTTP 401: the server refused the token; audience in use: scope https:\/\/dicom\.healthcareapis\.azure\.com\/\.default/,
    );
    assert.match(failure, /Azure DICOM service: https:\/\/dicom\.healthcareapis\.azure\.com/);
    // The app's own path: one token, a 401, one fresh token and one retry, not a loop.
    assert.equal(tokens.issued.length - issuedBefore, 2);
  });

  it('DICOM server answering 403: the role the identity lacks', async () => {
    dicom.failNext(2, 403, '/changefeed');
    const run = await check(healthy(), ['--skip-storage']);
    assert.equal(run.code, 1);
    const failure = line(run, 'FAIL', /changefeed\/latest/);
    assert.match(
      failure,
      /HTTP 403: the application \(client id dicom-cast\) lacks a data role: assign DICOM Data Reader \(enough for DICOM Cast\) or DICOM Data Owner/,
    );
  });

  it('FHIR server answering 401 to the search: the managed identity audience', async () => {
    const run = await check(
      { ...healthy(), Fhir__Authentication__ManagedIdentityCredential__Resource: 'https://wrong-audience.example.org' },
      ['--skip-storage'],
    );
    assert.equal(run.code, 1);
    line(run, 'ok', /metadata: HTTP 200, FHIR 4\.0\.1/);
    const failure = line(run, 'FAIL', /Patient\?_summary=count/);
    assert.match(
      failure,
      /HTTP 401: the server refused the token; audience in use: https:\/\/wrong-audience\.example\.org/,
    );
    assert.match(failure, /Azure FHIR service: its own URL/);
  });

  it('FHIR /metadata that is not FHIR 4.0.x, or lists no transaction', async () => {
    let statement: unknown;
    const standIn = createServer((request, response) => {
      response.writeHead(request.url?.startsWith('/fhir/metadata') ? 200 : 404, {
        'Content-Type': 'application/fhir+json',
      });
      response.end(JSON.stringify(request.url?.startsWith('/fhir/metadata') ? statement : {}));
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}/fhir`;
      const env = { ...healthy(), Fhir__Endpoint: url, Fhir__Authentication__Enabled: 'false' };
      statement = {
        resourceType: 'CapabilityStatement',
        fhirVersion: '5.0.0',
        rest: [{ mode: 'server', interaction: [{ code: 'transaction' }] }],
      };
      let run = await check(env, ['--skip-storage']);
      assert.equal(run.code, 1);
      line(run, 'FAIL', /metadata: HTTP 200, FHIR version 5\.0\.0: DICOM Cast writes FHIR R4 \(4\.0\.x\)/);
      line(run, 'auth', /none \(Fhir:Authentication:Enabled is false\)/);

      statement = {
        resourceType: 'CapabilityStatement',
        fhirVersion: '4.0.1',
        rest: [{ mode: 'server', interaction: [{ code: 'batch' }] }],
      };
      run = await check(env, ['--skip-storage']);
      assert.equal(run.code, 1);
      line(
        run,
        'FAIL',
        /transactions: the CapabilityStatement lists no transaction interaction, which DICOM Cast writes every study with \(Azure API for FHIR on Cosmos DB lists batch only\)\. Use a server with transactions: the Azure Health Data Services FHIR service/,
      );
      line(run, 'ok', /metadata: HTTP 200, FHIR 4\.0\.1$/);

      // Azure API for FHIR (Cosmos DB) as it describes itself: batch only; and a server without If-None-Exist or If-Match.
      const resource = (type: string, extra: object) => ({ type, interaction: [{ code: 'create' }], ...extra });
      statement = {
        resourceType: 'CapabilityStatement',
        fhirVersion: '4.0.1',
        software: { name: 'Microsoft FHIR Server' },
        rest: [
          {
            mode: 'server',
            interaction: [{ code: 'batch' }, { code: 'search-system' }],
            resource: [
              resource('Patient', { versioning: 'versioned', conditionalCreate: true }),
              resource('Endpoint', { versioning: 'no-version', conditionalCreate: false }),
            ],
          },
        ],
      };
      run = await check(env, ['--skip-storage']);
      assert.equal(run.code, 1);
      line(run, 'ok', /metadata: HTTP 200, FHIR 4\.0\.1 \(Microsoft FHIR Server\)$/);
      line(run, 'FAIL', /transactions: the CapabilityStatement lists no transaction interaction/);
      line(run, 'FAIL', /resource types: the server does not list ImagingStudy$/);
      line(run, 'FAIL', /conditional create \(If-None-Exist\): not supported for Endpoint; DICOM Cast needs it$/);
      line(run, 'FAIL', /versioned update \(If-Match\): not supported for Endpoint; DICOM Cast needs it$/);
      line(run, 'info', /conditional update: not stated/);
    } finally {
      standIn.closeAllConnections();
      await new Promise((resolve) => standIn.close(resolve));
    }
  });

  it('reports the paging of the local server profiles: offset, AHDS continuation token, HAPI _getpages', async () => {
    const expected = {
      medplum: /paging: next links with offsets \(_offset\)/,
      azure: /paging: next links with an opaque continuation token \(ct\), as the AHDS FHIR service pages/,
      hapi: /paging: next links with a search stored on the server \(_getpages\), as HAPI FHIR pages/,
    } as const;
    for (const profile of ['medplum', 'azure', 'hapi'] as const) {
      const server = await startFhirServer({ profile });
      try {
        for (const pid of ['P-1', 'P-2']) {
          await fetch(`${server.url}/Patient`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/fhir+json' },
            body: JSON.stringify({ resourceType: 'Patient', identifier: [{ value: pid }] }),
          });
        }
        const run = await check({ ...healthy(), Fhir__Endpoint: server.url, Fhir__Authentication__Enabled: 'false' }, [
          '--skip-storage',
        ]);
        assert.equal(run.code, 0, run.output);
        line(
          run,
          'ok',
          profile === 'medplum'
            ? /metadata: HTTP 200, FHIR 4\.0\.1 \(dicom-cast-functions local FHIR server/
            : new RegExp(`metadata: HTTP 200, FHIR 4\\.0\\.1 \\(.*emulated by the local server, profile ${profile}\\)`),
        );
        line(run, 'ok', /^ {2}ok {4}transactions: supported$/);
        line(run, 'ok', expected[profile]);
      } finally {
        await server.close();
      }
    }
  });

  it('a next link to another origin than Fhir:Endpoint fails: the token would go there', async () => {
    const standIn = createServer((request, response) => {
      const body = request.url?.startsWith('/fhir/metadata')
        ? {
            resourceType: 'CapabilityStatement',
            fhirVersion: '4.0.1',
            rest: [{ mode: 'server', interaction: [{ code: 'transaction' }] }],
          }
        : {
            resourceType: 'Bundle',
            type: 'searchset',
            total: 2,
            link: [{ relation: 'next', url: 'http://fhir.internal:8080/fhir/Patient?ct=abc' }],
          };
      response.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      response.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}/fhir`;
      const run = await check({ ...healthy(), Fhir__Endpoint: url, Fhir__Authentication__Enabled: 'false' }, [
        '--skip-storage',
      ]);
      assert.equal(run.code, 1);
      line(run, 'warn', /conditional create, versioned update: not stated/);
      line(
        run,
        'FAIL',
        new RegExp(
          `paging: the next link points to http://fhir\\.internal:8080, not to Fhir:Endpoint's origin http://127\\.0\\.0\\.1:\\d+`,
        ),
      );
    } finally {
      standIn.closeAllConnections();
      await new Promise((resolve) => standIn.close(resolve));
    }
  });

  it('connection refused, and a host that does not resolve', async () => {
    const refused = await refusedOrigin();
    let run = await check({ ...healthy(), DicomWeb__Endpoint: refused }, ['--skip-storage']);
    assert.equal(run.code, 1);
    line(
      run,
      'FAIL',
      new RegExp(`GET ${refused}/v2/changefeed/latest: connection refused by 127\\.0\\.0\\.1:\\d+ \\(ECONNREFUSED\\)`),
    );

    run = await check(
      { ...healthy(), DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: `${refused}/oauth2/token` },
      ['--skip-storage'],
    );
    line(run, 'FAIL', new RegExp(`token: token endpoint ${refused}/oauth2/token: connection refused`));

    run = await check(
      { ...healthy(), Fhir__Endpoint: 'https://fhir.invalid', Fhir__Authentication__Enabled: 'false' },
      ['--skip-storage'],
    );
    line(
      run,
      'FAIL',
      /GET https:\/\/fhir\.invalid\/metadata: DNS: fhir\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN)\)/,
    );
  });

  it('storage that refuses connections or a wrong account key', async () => {
    const refused = new URL(await refusedOrigin());
    let run = await check({
      ...healthy(),
      AzureWebJobsStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('k').toString('base64')};QueueEndpoint=http://127.0.0.1:${refused.port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:${refused.port}/devstoreaccount1`,
    });
    assert.equal(run.code, 1);
    line(run, 'FAIL', /queue service http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1: connection refused/);
    line(run, 'FAIL', /table service http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1: connection refused/);

    run = await check({
      ...healthy(),
      AzureWebJobsStorage: azurite.connectionString.replace(
        /AccountKey=[^;]+/,
        `AccountKey=${Buffer.from('wrong key').toString('base64')}`,
      ),
    });
    line(
      run,
      'FAIL',
      /queue service .*: HTTP 403 AuthorizationFailure|queue service .*: HTTP 403 AuthenticationFailed/,
    );
  });

  it('prints the ConfigurationError of an invalid configuration, and unresolved Key Vault references', async () => {
    const run = await check(
      {
        ...healthy(),
        DicomCast__MaxPollSeconds: 'soon',
        Patient__PatientSystemId: '@Microsoft.KeyVault(VaultName=cast-kv;SecretName=system-id)',
      },
      ['--skip-storage'],
    );
    assert.equal(run.code, 1);
    line(run, 'FAIL', /^ {2}FAIL {2}Setting Patient:PatientSystemId is still a literal Key Vault reference/);
    assert.ok(!run.output.includes('system-id'));
    // Fix the reference: the next error is the bad number.
    const second = await check({ ...healthy(), DicomCast__MaxPollSeconds: 'soon' }, ['--skip-storage']);
    line(
      second,
      'FAIL',
      /Invalid setting DicomCast:MaxPollSeconds: must be a whole number \(setting DicomCast:MaxPollSeconds\)/,
    );
    assert.ok(!second.output.includes('soon'));
    // The servers are still checked.
    line(second, 'ok', /changefeed\/latest: HTTP 200/);
    assert.match(second.lines.at(-1) ?? '', /^Result: FAIL \(1 problem; DICOM server ok, FHIR server ok\)$/);
  });

  it('names a missing endpoint and a missing auth setting', async () => {
    const env = healthy();
    delete (env as Record<string, string | undefined>).DicomWeb__Endpoint;
    delete (env as Record<string, string | undefined>).DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret;
    let run = await check(env, ['--skip-storage']);
    line(run, 'FAIL', /not checked: DicomWeb:Endpoint is not set/);
    run = await check({ ...env, DicomWeb__Endpoint: dicom.url }, ['--skip-storage']);
    line(run, 'FAIL', /Missing required setting DicomWeb:Authentication:OAuth2ClientCredential:ClientSecret/);
  });

  it('answers --help and refuses unknown options', async () => {
    assert.equal((await check({}, ['--help'])).code, 0);
    assert.equal((await check({}, ['--bogus'])).code, 2);
    assert.equal((await check({}, ['--timeout', 'x'])).code, 2);
  });

  describe('through the real entry point, with local.settings.json and Key Vault', () => {
    let certificate: SelfSignedCertificate;
    let vault: KeyVaultTestServer;

    before(async () => {
      certificate = await createSelfSignedCertificate();
      vault = await startKeyVaultTestServer({
        cert: certificate.cert,
        key: certificate.key,
        isValidToken: (token) => identity.issued.get(token)?.resource === 'https://vault.azure.net',
      });
    });
    after(async () => {
      await vault.close();
      await certificate.dispose();
    });

    it('reads the DICOM client secret from the vault and the endpoints from local.settings.json: exit 0', async () => {
      vault.setSecret({ name: 'DicomWeb--Authentication--OAuth2ClientCredential--ClientSecret', value: clientSecret });
      vault.setSecret({ name: 'Unused--Disabled', value: 'x', enabled: false });
      const folder = await mkdtemp(join(workDir, 'app-'));
      const { DicomWeb__Endpoint, Fhir__Endpoint, ...rest } = healthy();
      delete (rest as Record<string, string | undefined>)
        .DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret;
      await writeFile(
        join(folder, 'local.settings.json'),
        JSON.stringify({
          IsEncrypted: false,
          Values: { DicomWeb__Endpoint, Fhir__Endpoint, KeyVault__Endpoint: vault.url },
        }),
      );
      const run = await spawnCheck({ ...rest, NODE_EXTRA_CA_CERTS: certificate.certPath }, folder);
      assert.equal(run.code, 0, run.output);
      line(
        run,
        'ok',
        new RegExp(
          `read from: environment, local\\.settings\\.json \\(${join(folder, 'local.settings.json').replace(/[.]/g, '\\.')}\\)`,
        ),
      );
      line(
        run,
        'ok',
        new RegExp(
          `Key Vault ${vault.url}: 1 secret loaded, 1 disabled or expired skipped \\(read as the system-assigned managed identity\\)`,
        ),
      );
      line(run, 'ok', /changefeed\/latest: HTTP 200/);
      assert.equal(run.lines.filter((text) => text.trim() !== '').at(-1), 'Result: PASS');
      assert.ok(!run.output.includes(clientSecret));
    });

    it('a vault that refuses the identity: the vault, HTTP 403 and the Key Vault Secrets User role; exit 1', async () => {
      vault.failure = {
        status: 403,
        body: {
          error: { code: 'Forbidden', message: 'Caller is not authorized.', innererror: { code: 'ForbiddenByRbac' } },
        },
      };
      try {
        const run = await spawnCheck(
          { ...healthy(), KeyVault__Endpoint: vault.url, NODE_EXTRA_CA_CERTS: certificate.certPath },
          workDir,
        );
        assert.equal(run.code, 1, run.output);
        line(
          run,
          'FAIL',
          new RegExp(
            `Key Vault ${vault.url} \\(KeyVault:Endpoint\\): listing the secrets failed: HTTP 403 Forbidden/ForbiddenByRbac: Caller is not authorized\\. Likely cause: the system-assigned managed identity lacks the Key Vault Secrets User role`,
          ),
        );
        line(run, 'warn', /checking the rest without the Key Vault secrets/);
      } finally {
        vault.failure = undefined;
      }
    });
  });
});
