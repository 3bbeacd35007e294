import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigurationError } from '../../../shared/errors/errors.js';
import { getRuntime, resetRuntime } from '../../../shared/runtime/runtime.js';

// getRuntime() loads its settings through loadSettings: process.env, and local.settings.json from the working
// directory, which is an empty temporary folder here so that a developer's own file cannot interfere.
describe('getRuntime settings', () => {
  const keys = [
    'DicomWeb__Endpoint',
    'Fhir__Endpoint',
    'AzureWebJobsStorage',
    'KeyVault__Endpoint',
    'DicomCast__Schedule',
  ];
  const saved = new Map<string, string | undefined>();
  const originalCwd = process.cwd();
  let folder: string;

  before(async () => {
    for (const key of keys) saved.set(key, process.env[key]);
    folder = await mkdtemp(join(tmpdir(), 'dicom-cast-runtime-'));
    process.chdir(folder);
    resetRuntime();
  });
  after(async () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    process.chdir(originalCwd);
    await rm(folder, { recursive: true, force: true });
    resetRuntime();
  });

  it('fails at start on an unresolved Key Vault reference, naming the setting; a failure is not cached', async () => {
    process.env.DicomWeb__Endpoint = 'https://ws-dicom.dicom.azurehealthcareapis.com';
    process.env.Fhir__Endpoint = 'https://ws-fhir.fhir.azurehealthcareapis.com';
    process.env.AzureWebJobsStorage = 'UseDevelopmentStorage=true';
    delete process.env.KeyVault__Endpoint;
    process.env.DicomCast__Schedule =
      '@Microsoft.KeyVault(SecretUri=https://cast-kv.vault.azure.net/secrets/schedule/)';

    const first = await getRuntime().then(
      () => assert.fail('expected a failure'),
      (error: unknown) => error,
    );
    assert.ok(first instanceof ConfigurationError);
    assert.equal(first.location.setting, 'DicomCast:Schedule');
    assert.match(first.message, /still a literal Key Vault reference/);

    // Fixed setting, next call: a new attempt (which now fails on the vault URL instead).
    process.env.DicomCast__Schedule = '*/10 * * * * *';
    process.env.KeyVault__Endpoint = 'http://cast-kv.vault.azure.net';
    const second = await getRuntime().then(
      () => assert.fail('expected a failure'),
      (error: unknown) => error,
    );
    assert.ok(second instanceof ConfigurationError);
    assert.equal(second.location.setting, 'KeyVault:Endpoint');
  });
});
