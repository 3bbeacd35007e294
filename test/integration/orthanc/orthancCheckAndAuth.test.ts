import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run as runCheck } from '../../../cli/commands/check.js';
import { processIo } from '../../../cli/io.js';
import { startOrthanc, type RunningOrthanc } from '../../../dev/orthanc.js';
import { createBasicAuthorization } from '../../../shared/auth/basicAuthorization.js';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { ConfigurationError } from '../../../shared/errors/errors.js';
import { orthancSkipReason } from '../../support/orthancArchive.js';

describe('Basic authentication settings', () => {
  const endpoint = 'https://pacs.example.org/dicom-web';
  const basic = (extra: Record<string, string>) => ({
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'basic',
    ...extra,
  });

  it('reads user name and password; the header goes only to the server origin', async () => {
    const config = loadAuthConfig(
      basic({ DicomWeb__Authentication__Basic__Username: 'cast', DicomWeb__Authentication__Basic__Password: 'pä:ss' }),
      'DicomWeb',
      endpoint,
    );
    assert.deepEqual(config, { kind: 'basic', server: 'DicomWeb', username: 'cast', password: 'pä:ss' });
    const provider = createBasicAuthorization(config.kind === 'basic' ? config : assert.fail(), endpoint);
    assert.equal(
      await provider.authorizationFor('https://pacs.example.org/changes?since=1'),
      `Basic ${Buffer.from('cast:pä:ss', 'utf8').toString('base64')}`,
    );
    assert.equal(await provider.authorizationFor('https://elsewhere.example.org/dicom-web/studies'), undefined);
    assert.equal(await provider.authorizationFor('http://pacs.example.org/dicom-web/studies'), undefined);
  });

  it('names the missing or wrong setting, never the password', () => {
    const missing = (settings: Record<string, string>, setting: string) => {
      assert.throws(
        () => loadAuthConfig(settings, 'DicomWeb', endpoint),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.location.setting === setting &&
          !error.message.includes('s3cret-value'),
      );
    };
    missing(
      basic({ DicomWeb__Authentication__Basic__Password: 's3cret-value' }),
      'DicomWeb:Authentication:Basic:Username',
    );
    missing(basic({ DicomWeb__Authentication__Basic__Username: 'cast' }), 'DicomWeb:Authentication:Basic:Password');
    missing(
      basic({
        DicomWeb__Authentication__Basic__Username: 'a:b',
        DicomWeb__Authentication__Basic__Password: 's3cret-value',
      }),
      'DicomWeb:Authentication:Basic:Username',
    );
    assert.throws(
      () =>
        loadAuthConfig(
          { Fhir__Authentication__Enabled: 'true', Fhir__Authentication__AuthenticationType: 'Basic' },
          'Fhir',
          'https://fhir.example.org',
        ),
      /Basic is for the DICOM server/,
    );
  });
});

/** `dicom-cast check` against a real Orthanc with authentication on. */
describe('dicom-cast check on Orthanc', { skip: orthancSkipReason() }, () => {
  let orthanc: RunningOrthanc;
  let cwd: string;
  const check = async (settings: Record<string, string>) => {
    const lines: string[] = [];
    const code = await runCheck(
      ['--skip-storage', '--timeout', '10'],
      processIo({
        settings: {
          env: {
            DicomWeb__Endpoint: orthanc.dicomWebUrl,
            DicomWeb__Source: 'orthanc',
            Fhir__Endpoint: 'http://127.0.0.1:1/fhir',
            AzureWebJobsStorage: 'UseDevelopmentStorage=true',
            ...settings,
          },
          cwd,
        },
        out: (line) => lines.push(...line.split('\n')),
      }),
    );
    return { code, text: lines.join('\n') };
  };
  const withUser = (password: string) => ({
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'Basic',
    DicomWeb__Authentication__Basic__Username: orthanc.username,
    DicomWeb__Authentication__Basic__Password: password,
  });

  before(async () => {
    orthanc = await startOrthanc();
    cwd = await mkdtemp(join(tmpdir(), 'dicomcast-check-orthanc-'));
  });
  after(async () => {
    await orthanc?.close();
  });

  it('reports /system, /changes and a QIDO-RS query, each on one line', async () => {
    const { text } = await check(withUser(orthanc.password));
    assert.match(text, /auth\s+Basic, user dicomcast \(password from DicomWeb:Authentication:Basic:Password\)/);
    assert.match(
      text,
      /ok\s+GET http:\/\/127\.0\.0\.1:\d+\/system \(Orthanc REST API\): HTTP 200, Orthanc 1\.\d+\.\d+/,
    );
    assert.match(text, /ok\s+GET .*changes\?since=0&limit=1: HTTP 200, change log answered \(Last 0\)/);
    assert.match(text, /ok\s+GET .*studies\?limit=1 \(QIDO-RS\): HTTP 200, QIDO-RS answered/);
    assert.ok(!text.includes(orthanc.password));
  });

  it('a wrong password: one line naming the user and the settings, never the password', async () => {
    const { code, text } = await check(withUser('wrong-password-Zq7'));
    assert.equal(code, 1);
    assert.match(
      text,
      /FAIL\s+GET .*system \(Orthanc REST API\): HTTP 401: the server refused user dicomcast and its password \(DicomWeb:Authentication:Basic\); for Orthanc they must be one of its RegisteredUsers/,
    );
    assert.ok(!text.includes('wrong-password-Zq7'));
  });

  it('no authentication configured: says to turn it on', async () => {
    const { code, text } = await check({});
    assert.equal(code, 1);
    assert.match(text, /HTTP 401: the server wants a token, but DicomWeb:Authentication:Enabled is false/);
  });
});
