import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { run as runCheck } from '../../../cli/commands/check.js';
import { processIo } from '../../../cli/io.js';
import { run as failuresCommand } from '../../../cli/commands/failures.js';
import { startFhirServer, type RunningFhirServer } from '../../../dev/fhir-server/index.js';
import { LocalFunctionsHost } from '../../../dev/functionsHost/localFunctionsHost.js';
import { startLocalStack, type LocalStack } from '../../../dev/localStack.js';
import { makeInstanceFile, uid } from '../../../dev/samples/index.js';
import { redactSecrets, scrubText } from '../../../shared/telemetry/redaction.js';
import { installTelemetry, type InstalledTelemetry } from '../../../shared/telemetry/installTelemetry.js';
import { listen, readBody } from '../../support/loopback.js';
import { startOAuth2TestServer, type OAuth2TestServer } from '../../support/oauth2TestServer.js';
import { recordingIo } from '../../support/opsSupport.js';
import { assertNoneLeaked, captureOutput } from '../../support/captureOutput.js';

/**
 * A FHIR server that echoes the Authorization header it was sent (in an OperationOutcome's diagnostics and in
 * WWW-Authenticate): the token never reaches host logs, OpenTelemetry spans or log records, failure records
 * (`dicom-cast failures list`) or `dicom-cast check` output.
 */
const clientSecret = 'Echo~client~secret~7f3e';
const spans = new InMemorySpanExporter();
const logRecords = new InMemoryLogRecordExporter();

describe('transport: a FHIR server echoing the token', () => {
  let tokens: OAuth2TestServer;
  let fhir: RunningFhirServer;
  let echo: Awaited<ReturnType<typeof listen>>;
  let stack: LocalStack;
  let installed: InstalledTelemetry;
  let authSettings: Record<string, string>;
  const echoed: string[] = [];
  const texts: string[] = [];

  before(async () => {
    tokens = await startOAuth2TestServer({
      expected: { grantType: 'client_credentials', clientId: 'cast', clientSecret },
      now: Date.now,
    });
    fhir = await startFhirServer({ authorize: (header) => tokens.isValid(header?.replace(/^Bearer /, '') ?? '') });
    // Reads (searches, batches of searches) go through to the real server; a transaction or a count search is
    // refused with the token echoed.
    echo = await listen((request, response) => {
      void (async () => {
        const authorization = request.headers.authorization ?? '';
        const body = request.method === 'POST' ? await readBody(request) : '';
        const isBatch = body !== '' && (JSON.parse(body) as { type?: string }).type === 'batch';
        const refuse = (request.method === 'POST' && !isBatch) || (request.url ?? '').includes('_summary=count');
        if (!refuse) {
          const upstream = httpRequest(new URL(request.url ?? '/', new URL(fhir.url).origin), {
            method: request.method,
            headers: request.headers,
          });
          upstream.on('response', (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          });
          if (request.method === 'POST') upstream.end(body);
          else request.pipe(upstream);
          return;
        }
        request.resume();
        echoed.push(authorization);
        const status = request.method === 'POST' ? 400 : 401;
        response.writeHead(status, {
          'Content-Type': 'application/fhir+json',
          'WWW-Authenticate': `Bearer error="invalid_token", error_description="token ${authorization.replace(/^Bearer /, '')} was refused"`,
        });
        response.end(
          JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [
              {
                severity: 'error',
                code: 'invalid',
                diagnostics: `Request with Authorization: ${authorization} rejected`,
              },
            ],
          }),
        );
      })();
    });
    authSettings = {
      Fhir__Authentication__Enabled: 'true',
      Fhir__Authentication__AuthenticationType: 'OAuth2ClientCredential',
      Fhir__Authentication__OAuth2ClientCredential__TokenUri: tokens.tokenUri,
      Fhir__Authentication__OAuth2ClientCredential__ClientId: 'cast',
      Fhir__Authentication__OAuth2ClientCredential__ClientSecret: clientSecret,
    };
    installed = installTelemetry({
      spanExporter: spans,
      metricExporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      logExporter: logRecords,
    });
    stack = await startLocalStack({ fhirUrl: `${echo.origin}/fhir`, settings: authSettings });
  });

  after(async () => {
    await installed.shutdown();
    await stack.close();
    await echo.close();
    await fhir.close();
    await tokens.close();
  });

  it('redacts remembered tokens, credentials after a scheme, JWTs and named secrets from server text', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    assert.equal(redactSecrets(`Authorization: Bearer ${jwt}`), 'Authorization: Bearer ***');
    assert.equal(redactSecrets('Authorization: Basic dXNlcjpwYXNzd29yZA=='), 'Authorization: Basic ***');
    assert.equal(redactSecrets(`token ${jwt} refused`), 'token *** refused');
    assert.equal(redactSecrets('access_token=abc.def&x=1'), 'access_token=***&x=1');
    assert.equal(redactSecrets('{"client_secret": "s3cr3t-value"}'), '{"client_secret": "***"}');
    assert.equal(
      redactSecrets('Bearer realm="fhir", error="invalid_token"'),
      'Bearer realm="fhir", error="invalid_token"',
    );
    assert.equal(scrubText(`GET failed: Bearer ${'x'.repeat(3000)}`), 'GET failed: Bearer ***');
  });

  it('keeps every issued token out of logs, spans, log records, failure records and check output', async () => {
    const spec = {
      studyUid: uid('echo', 1),
      seriesUid: uid('echo', 1, 'series'),
      sopUid: uid('echo', 1, 'sop', 1),
      patientId: 'ECHO-1',
      patientName: 'Echo^Test',
      modality: 'CT',
      instanceNumber: 1,
    };
    await stack.dicom!.storeFiles([makeInstanceFile(spec)]);
    const host = new LocalFunctionsHost({
      settings: stack.settings,
      queueOverrides: { visibilityTimeoutMs: 0 },
      log: (_level, functionName, ...args) =>
        texts.push(
          `${functionName} ${args.map((arg) => (arg instanceof Error ? `${arg.message} ${arg.stack ?? ''}` : String(arg))).join(' ')}`,
        ),
    });
    const io = recordingIo(stack.settings);
    const checkLines: string[] = [];
    const consoleText = await captureOutput(async () => {
      await host.runOnce();
      await installed.flush();
      assert.equal(await failuresCommand(['list'], io), 0);
      await runCheck(
        ['--timeout', '5', '--skip-storage'],
        processIo({
          settings: { env: { ...stack.settings }, cwd: '/nonexistent' },
          out: (line) => checkLines.push(line),
        }),
      );
    });

    // The server did echo the token, and the writer recorded the refusal (redacted).
    assert.ok(echoed.length >= 2, 'the transaction and the check search were refused with the token echoed');
    assert.ok(tokens.issued.length >= 1);
    const failures = io.text();
    assert.match(failures, /FHIR transaction answered 400: Request with Authorization: Bearer \*\*\* rejected/);
    assert.match(checkLines.join('\n'), /HTTP 401 \(invalid_token: token \*\*\* was refused\)/);

    const spanTexts = spans
      .getFinishedSpans()
      .map((span) =>
        JSON.stringify({ name: span.name, attributes: span.attributes, status: span.status, events: span.events }),
      );
    const recordTexts = logRecords
      .getFinishedLogRecords()
      .map((record) => JSON.stringify({ body: record.body, attributes: record.attributes }));
    assert.ok(
      spanTexts.some((text) => text.includes('Bearer ***')) || recordTexts.some((text) => text.includes('Bearer ***')),
      'the refusal reached telemetry',
    );
    const secrets = [...tokens.issued, clientSecret];
    assertNoneLeaked(texts, secrets, 'host logs');
    assertNoneLeaked(spanTexts, secrets, 'spans');
    assertNoneLeaked(recordTexts, secrets, 'OpenTelemetry log records');
    assertNoneLeaked([failures, ...io.errors], secrets, 'failures list');
    assertNoneLeaked(checkLines, secrets, 'check output');
    assertNoneLeaked([consoleText], secrets, 'console output');
  });
});
