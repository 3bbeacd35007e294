/**
 * The one I/O contract of every `dicom-cast` command: `run(args, io)` writes through `io`, reads its settings from
 * `io.settings` and gets the app's runtime from `io.runtime()`. main.ts passes `processIo()`; tests pass their own.
 */
import type { FlatSettings } from '../shared/config/settingsSource.js';
import type { KeyVaultOptions } from '../shared/config/keyVaultSecrets.js';
import { loadOpsRuntime } from './opsRuntime.js';
import type { Runtime } from '../shared/runtime/runtime.js';

/** Where the settings are read from, as the Functions app reads them; each field defaults to the process's own. */
export interface SettingsSource {
  /** Default process.env. */
  env?: FlatSettings;
  /** Where local.settings.json is looked for. Default process.cwd(). */
  cwd?: string;
  /** Key Vault client options (tests: the vault's CA); `check` reads the vault itself and honours them. */
  keyVault?: KeyVaultOptions;
}

export interface CliIo {
  /** A line (or block) of the command's result, on stdout. */
  out(text: string): void;
  /** A line of diagnostics, on stderr. */
  err(text: string): void;
  /** True when stderr is a terminal: progress is drawn only then. */
  errIsTTY: boolean;
  /** Rewrites the current stderr line (progress). */
  progress(text: string): void;
  settings: SettingsSource;
  /** The app's runtime built from `settings`, once per io. */
  runtime(): Promise<Runtime>;
}

/** The process's stdout, stderr and settings; `overrides` replaces any part (tests: recording out and err). */
export function processIo(overrides: Partial<CliIo> = {}): CliIo {
  const settings = overrides.settings ?? {};
  let runtime: Promise<Runtime> | undefined;
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    errIsTTY: process.stderr.isTTY === true,
    progress: (text) => process.stderr.write(`\r\u001b[2K${text}`),
    runtime: () => (runtime ??= loadOpsRuntime(settings)),
    ...overrides,
    settings,
  };
}
