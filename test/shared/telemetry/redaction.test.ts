import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLevel } from '../../../shared/logging/log.js';
import { Attr, requestOutcomeOf } from '../../../shared/telemetry/names.js';
import { safeProperties, scrubText, toAttributes } from '../../../shared/telemetry/redaction.js';
import { correlationId } from '../../../shared/telemetry/correlation.js';
import { noopTelemetry, Telemetry } from '../../../shared/telemetry/telemetry.js';
import { formatTraceparent, parseTraceparent } from '../../../shared/telemetry/traceContext.js';
import { initTelemetry, parseAuthenticationString } from '../../../shared/telemetry/setup.js';

describe('telemetry redaction', () => {
  it('scrubs quoted values, person names and URL queries from free text', () => {
    assert.equal(
      scrubText('FHIR transaction answered 400: Invalid value "Doe^Jane" at Patient.name'),
      'FHIR transaction answered 400: Invalid value "…" at Patient.name',
    );
    assert.equal(scrubText("PatientID 'PID-12345' is not unique"), "PatientID '…' is not unique");
    assert.equal(scrubText('name Doe^Jane^^^ found'), 'name [PN] found');
    assert.equal(
      scrubText('GET http://fhir.local/fhir/Patient?identifier=urn:oid:1|PID-9 failed'),
      'GET http://fhir.local/fhir/Patient?… failed',
    );
    assert.equal(scrubText('search Patient?identifier=sys|PID-9 answered 500'), 'search Patient?… answered 500');
    assert.equal(scrubText("the study's series"), "the study's series", 'an apostrophe is not a quote');
    assert.equal(scrubText('Study 1.2.840.10008.1 created'), 'Study 1.2.840.10008.1 created');
  });

  it('keeps UIDs, numbers and known keys; drops tag values and unknown strings', () => {
    const safe = safeProperties({
      study: '1.2.3',
      maxSequence: 7,
      value: 'Doe^Jane',
      patientName: 'Doe^Jane',
      comment: 'anything at all',
      reason: 'bad value "Doe^Jane"',
      checkpoint: { version: 'v2', sequence: 9, timestamp: '2024-01-01T00:00:00Z' },
      caughtUp: true,
    });
    assert.deepEqual(safe, {
      study: '1.2.3',
      maxSequence: 7,
      reason: 'bad value "…"',
      checkpoint: { version: 'v2', sequence: 9, timestamp: '2024-01-01T00:00:00Z' },
      caughtUp: true,
    });
    assert.deepEqual(toAttributes(safe), {
      [Attr.study]: '1.2.3',
      [Attr.sequence]: 7,
      'dicomcast.reason': 'bad value "…"',
      'dicomcast.checkpoint.version': 'v2',
      'dicomcast.checkpoint.sequence': 9,
      'dicomcast.checkpoint.timestamp': '2024-01-01T00:00:00Z',
      'dicomcast.caughtUp': true,
    });
    assert.deepEqual(toAttributes({ series: 3 }), { 'dicomcast.series': 3 }, 'a count is not a UID');
  });

  it('reads and writes W3C traceparent values', () => {
    const text = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const context = parseTraceparent(text);
    assert.equal(context?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(context?.spanId, 'b7ad6b7169203331');
    assert.equal(context?.isRemote, true);
    assert.equal(formatTraceparent(context), text);
    assert.equal(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'), undefined);
    assert.equal(parseTraceparent('garbage'), undefined);
    assert.equal(parseTraceparent(undefined), undefined);
  });

  it('names a change by study and sequence; the default partition is no partition', () => {
    assert.equal(correlationId({ study: '1.2.3', sequence: 4 }), '1.2.3@4');
    assert.equal(correlationId({ study: '1.2.3', sequence: 4, partition: 'Microsoft.Default' }), '1.2.3@4');
    assert.equal(correlationId({ study: '1.2.3', sequence: 4, partition: 'site-a' }), 'site-a/1.2.3@4');
  });

  it('maps HTTP statuses to request outcomes', () => {
    assert.deepEqual([200, 201, 404, 409, 412, 401, 429, 400, 503, undefined].map(requestOutcomeOf), [
      'success',
      'success',
      'not-found',
      'conflict',
      'conflict',
      'unauthorized',
      'throttled',
      'client-error',
      'server-error',
      'network-error',
    ]);
  });

  it('without exported logs every line goes to the host, scrubbed and with its correlation', () => {
    const lines: [LogLevel, string, Record<string, unknown> | undefined][] = [];
    const log = noopTelemetry.log((level, message, properties) => lines.push([level, message, properties]), {
      correlationId: '1.2.3@4',
      study: '1.2.3',
    });
    log('info', 'Tag warning: PatientName "Doe^Jane" is too long', { value: 'Doe^Jane', tag: '(0010,0010)' });
    log('debug', 'detail');
    assert.deepEqual(lines, [
      [
        'info',
        'Tag warning: PatientName "…" is too long',
        { correlationId: '1.2.3@4', study: '1.2.3', tag: '(0010,0010)' },
      ],
      ['debug', 'detail', { correlationId: '1.2.3@4', study: '1.2.3' }],
    ]);
  });

  it('with exported logs the host gets only warnings and errors (no double lines in Application Insights)', () => {
    const levels: LogLevel[] = [];
    const telemetry = new Telemetry({ exportsLogs: true });
    const log = telemetry.log((level) => levels.push(level));
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log(level, level);
    assert.deepEqual(levels, ['warn', 'error']);
  });

  it('without APPLICATIONINSIGHTS_CONNECTION_STRING the app telemetry exports nothing', async () => {
    const telemetry = await initTelemetry({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    assert.equal(telemetry.exportsLogs, false);
  });
});

describe('APPLICATIONINSIGHTS_AUTHENTICATION_STRING', () => {
  it('asks for an Entra credential, user-assigned when a client id is given', () => {
    assert.deepEqual(parseAuthenticationString('ClientId=1234-abcd;Authorization=AAD'), { clientId: '1234-abcd' });
    assert.deepEqual(parseAuthenticationString('Authorization=AAD'), {});
    assert.equal(parseAuthenticationString(undefined), undefined);
    assert.equal(parseAuthenticationString('Authorization=Key'), undefined);
  });
});
