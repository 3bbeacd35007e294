import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { loadAppConfig } from '../../../shared/config/appConfig.js';
import {
  assertNoUnresolvedReferences,
  findUnresolvedReferences,
  loadSettings,
  readLocalSettingsFile,
} from '../../../shared/config/loadSettings.js';
import { readSetting } from '../../../shared/config/settingsSource.js';
import { ConfigurationError } from '../../../shared/errors/errors.js';

const validSettings = {
  DicomWeb__Endpoint: 'https://ws-dicom.dicom.azurehealthcareapis.com',
  Fhir__Endpoint: 'https://ws-fhir.fhir.azurehealthcareapis.com',
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
};

function configurationError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, String(error));
    return error;
  }
  return assert.fail('expected a ConfigurationError');
}

describe('loadSettings: environment and local.settings.json', () => {
  let dir: string;
  const write = (name: string, content: string) => writeFile(join(dir, name), content);
  const inFolder = async (content: string) => {
    const folder = await mkdtemp(join(dir, 'case-'));
    await writeFile(join(folder, 'local.settings.json'), content);
    return folder;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dicom-cast-settings-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads Values from local.settings.json; the environment wins, whatever the separator', async () => {
    const folder = await inFolder(
      JSON.stringify({
        IsEncrypted: false,
        Values: {
          DicomWeb__Endpoint: 'http://127.0.0.1:8042',
          'Fhir:Endpoint': 'http://127.0.0.1:8080/fhir',
          DicomCast__MaxPollSeconds: 120,
          Patient__IsIssuerIdUsed: true,
          Ignored__Object: { nested: 'x' },
        },
        ConnectionStrings: {},
      }),
    );
    const { settings, sources } = await loadSettings({
      env: { 'fhir--endpoint': 'https://from-env.example.org/fhir', PATH: '/usr/bin' },
      cwd: folder,
    });
    assert.equal(sources.localSettingsFile, join(folder, 'local.settings.json'));
    assert.equal(readSetting(settings, ['DicomWeb', 'Endpoint']), 'http://127.0.0.1:8042');
    assert.equal(readSetting(settings, ['Fhir', 'Endpoint']), 'https://from-env.example.org/fhir');
    assert.equal(readSetting(settings, ['DicomCast', 'MaxPollSeconds']), '120');
    assert.equal(readSetting(settings, ['Patient', 'IsIssuerIdUsed']), 'true');
    assert.equal(readSetting(settings, ['Ignored', 'Object']), undefined);
    assert.equal(settings.PATH, '/usr/bin');
  });

  it('ignores local.settings.json on Azure, and when told to', async () => {
    const folder = await inFolder(JSON.stringify({ Values: { DicomWeb__Endpoint: 'http://127.0.0.1:8042' } }));
    for (const options of [
      { env: { WEBSITE_INSTANCE_ID: 'abc123' }, cwd: folder },
      { env: { CONTAINER_NAME: 'linux-consumption' }, cwd: folder },
      { env: {}, cwd: folder, localSettings: false as const },
    ]) {
      const { settings, sources } = await loadSettings(options);
      assert.equal(sources.localSettingsFile, undefined);
      assert.equal(readSetting(settings, ['DicomWeb', 'Endpoint']), undefined);
    }
  });

  it('works without a local.settings.json', async () => {
    const { settings, sources } = await loadSettings({ env: { A__B: 'c' }, cwd: dir });
    assert.deepEqual(sources, {});
    assert.deepEqual(settings, { A__B: 'c' });
  });

  it('names the file, never its content, when it cannot be used', async () => {
    const secret = 'Sekr1t-in-a-broken-file';
    for (const [content, expected] of [
      [
        `{ "Values": { "Fhir__Authentication__OAuth2ClientCredential__ClientSecret": "${secret}", } }`,
        /not valid JSON/,
      ],
      [JSON.stringify({ Values: [secret] }), /"Values" must be an object/],
      [JSON.stringify([secret]), /must hold a JSON object/],
    ] as const) {
      const folder = await inFolder(content);
      const error = await loadSettings({ env: {}, cwd: folder }).then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ConfigurationError, String(error));
      assert.match(error.message, expected);
      assert.ok(error.message.includes(join(folder, 'local.settings.json')));
      assert.ok(!JSON.stringify({ m: error.message, s: error.stack }).includes(secret), 'the file content leaked');
    }
  });

  it('leaves an encrypted file to func start, and says so', async () => {
    const folder = await inFolder(
      JSON.stringify({ IsEncrypted: true, Values: { DicomWeb__Endpoint: 'ZW5jcnlwdGVk' } }),
    );
    const { settings, sources } = await loadSettings({ env: {}, cwd: folder });
    assert.deepEqual(sources, { encryptedLocalSettingsFile: join(folder, 'local.settings.json') });
    assert.equal(readSetting(settings, ['DicomWeb', 'Endpoint']), undefined);
  });

  it('reads a file with a byte order mark and no Values', async () => {
    await write('bom.json', '\uFEFF{ "IsEncrypted": false, "Values": { "A__B": "c" } }');
    assert.deepEqual(await readLocalSettingsFile(join(dir, 'bom.json')), { A__B: 'c' });
    await write('empty.json', '{}');
    assert.deepEqual(await readLocalSettingsFile(join(dir, 'empty.json')), {});
    assert.equal(await readLocalSettingsFile(join(dir, 'missing.json')), undefined);
  });
});

describe('unresolved Key Vault references', () => {
  const reference = '@Microsoft.KeyVault(SecretUri=https://cast-kv.vault.azure.net/secrets/dicom-endpoint/)';

  it('are found in any setting the app reads, named and explained without the reference text', () => {
    const settings = {
      ...validSettings,
      DicomWeb__Endpoint: reference,
      'Patient:PatientSystemId': ' @microsoft.keyvault(VaultName=cast-kv;SecretName=system)',
      AzureWebJobsStorage__accountName: reference,
      Unrelated__Setting: reference,
    };
    assert.deepEqual(findUnresolvedReferences(settings), [
      'DicomWeb:Endpoint',
      'Patient:PatientSystemId',
      'AzureWebJobsStorage:accountName',
    ]);
    const error = configurationError(() => assertNoUnresolvedReferences(settings));
    assert.equal(error.location.setting, 'DicomWeb:Endpoint');
    assert.match(error.message, /^Setting DicomWeb:Endpoint is still a literal Key Vault reference/);
    assert.match(error.message, /Key Vault Secrets User/);
    assert.match(error.message, /keyVaultReferenceIdentity/);
    assert.match(error.message, /reference syntax/);
    assert.match(error.message, /Also unresolved: Patient:PatientSystemId, AzureWebJobsStorage:accountName\./);
    assert.ok(!error.message.includes('dicom-endpoint') && !error.message.includes('cast-kv.vault'));
    assert.doesNotThrow(() => assertNoUnresolvedReferences({ ...validSettings, Unrelated__Setting: reference }));
  });

  it('fail loadAppConfig for its own settings, and the auth module for its fields, with the same advice', () => {
    const appError = configurationError(() => loadAppConfig({ ...validSettings, DicomCast__Schedule: reference }));
    assert.equal(appError.location.setting, 'DicomCast:Schedule');
    assert.match(appError.message, /keyVaultReferenceIdentity/);
    const storageError = configurationError(() => loadAppConfig({ ...validSettings, AzureWebJobsStorage: reference }));
    assert.equal(storageError.location.setting, 'AzureWebJobsStorage');
    const authError = configurationError(() =>
      loadAuthConfig(
        { Fhir__Authentication__Enabled: 'true', Fhir__Authentication__ManagedIdentityCredential__ClientId: reference },
        'Fhir',
        validSettings.Fhir__Endpoint,
      ),
    );
    assert.equal(authError.location.setting, 'Fhir:Authentication:ManagedIdentityCredential:ClientId');
    assert.match(authError.message, /keyVaultReferenceIdentity/);
    for (const error of [appError, storageError, authError]) assert.ok(!error.message.includes('dicom-endpoint'));
  });
});
