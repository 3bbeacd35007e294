/** `dicom-cast check`: reading the settings (local.settings.json, environment, Key Vault) and validating them. */
import { loadAppConfig } from '../../../shared/config/appConfig.js';
import { unresolvedReferenceMessage } from '../../../shared/config/keyVaultReference.js';
import { findUnresolvedReferences, loadSettings, type LoadedSettings } from '../../../shared/config/loadSettings.js';
import type { FlatSettings } from '../../../shared/config/settingsSource.js';
import { ConfigurationError } from '../../../shared/errors/errors.js';
import { errorMessage } from '../../../shared/lib/errorDetails.js';
import type { SettingsSource } from '../../io.js';
import type { Report } from './report.js';

export async function checkSettings(
  report: Report,
  source: SettingsSource,
  timeoutMs: number,
): Promise<FlatSettings | undefined> {
  report.heading('Settings');
  const common = { ...(source.env ? { env: source.env } : {}), ...(source.cwd ? { cwd: source.cwd } : {}) };
  let loaded: LoadedSettings;
  try {
    loaded = await loadSettings({
      ...common,
      keyVault: { timeoutMs: Math.max(timeoutMs, 30_000), ...source.keyVault },
    });
  } catch (error) {
    report.line('FAIL', errorMessage(error));
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

export function checkConfiguration(report: Report, settings: FlatSettings): void {
  report.heading('Configuration');
  const unresolved = findUnresolvedReferences(settings);
  for (const path of unresolved) report.line('FAIL', unresolvedReferenceMessage(path));
  try {
    loadAppConfig(settings);
    if (unresolved.length === 0) report.line('ok', 'configuration is valid');
  } catch (error) {
    // A reference already reported is not reported twice.
    if (!(error instanceof ConfigurationError && unresolved.includes(error.location.setting ?? ''))) {
      report.line('FAIL', errorMessage(error));
    }
  }
}
