/**
 * `dicom-cast status`: the figures of `GET /api/status`, read with the app's own settings: checkpoint, newest
 * change-feed entry, lag, queue depths and the last 24 hours' failures by category.
 */
import { formatStatus, readStatus } from '../../shared/ops/status.js';
import { defineCommand, runCommand } from '../commandLine.js';
import type { CliIo } from '../io.js';

export const command = defineCommand({
  name: 'status',
  synopsis: ['[--json]'],
  description: `Reads the settings as the Functions app does (local.settings.json in the current folder, the environment,
Key Vault when KeyVault:Endpoint is set) and prints the checkpoint, the newest change-feed entry, the lag,
the queue depths and the failures of the last 24 hours by category.`,
  options: {
    json: { type: 'boolean', help: 'print the JSON that GET /api/status returns' },
  },
});

export async function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(command, args, io, async ({ values }) => {
    const status = await readStatus(await io.runtime());
    io.out(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return 0;
  });
}
