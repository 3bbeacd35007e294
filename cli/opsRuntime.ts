import { assertNoUnresolvedReferences, loadSettings } from '../shared/config/loadSettings.js';
import type { FlatSettings } from '../shared/config/settingsSource.js';
import { createRuntime, type Runtime } from '../shared/runtime/runtime.js';
import { noopTelemetry } from '../shared/telemetry/telemetry.js';

/**
 * The runtime the CLI's operations commands use: settings read exactly as the Functions worker reads them
 * (local.settings.json, then the environment, then Key Vault when `KeyVault:Endpoint` is set), with telemetry off
 * (a command run by hand is not the app's traffic).
 */
export async function loadOpsRuntime(options: { env?: FlatSettings; cwd?: string } = {}): Promise<Runtime> {
  const { settings } = await loadSettings({
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  assertNoUnresolvedReferences(settings);
  return createRuntime(settings, { telemetry: noopTelemetry });
}
