import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlatSettings } from '../../shared/config/settingsSource.js';
import type { CliIo } from '../../cli/io.js';
import { loadOpsRuntime } from '../../cli/opsRuntime.js';
import type { Runtime } from '../../shared/runtime/runtime.js';

/** A CLI io that records what a command prints and reads its settings as the CLI does (no local.settings.json). */
export function recordingIo(settings: FlatSettings): CliIo & { lines: string[]; errors: string[]; text(): string } {
  const lines: string[] = [];
  const errors: string[] = [];
  const cwd = mkdtempSync(join(tmpdir(), 'dicom-cast-cli-'));
  let runtime: Promise<Runtime> | undefined;
  return {
    lines,
    errors,
    text: () => lines.join('\n'),
    out: (text) => lines.push(text),
    err: (text) => errors.push(text),
    errIsTTY: false,
    progress: () => undefined,
    settings: { env: settings, cwd },
    runtime: () => (runtime ??= loadOpsRuntime({ env: settings, cwd })),
  };
}
