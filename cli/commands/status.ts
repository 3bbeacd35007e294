/**
 * `dicom-cast status`: the figures of `GET /api/status`, read with the app's own settings: checkpoint, newest
 * change-feed entry, lag, queue depths and the last 24 hours' failures by category.
 */
import { parseArgs } from 'node:util';
import { processIo, UsageError, type CliIo } from '../../shared/ops/cli.js';
import { formatStatus, readStatus } from '../../shared/ops/status.js';

const usage = `Usage: dicom-cast status [--json]

Reads the settings as the Functions app does (local.settings.json in the current folder, the environment,
Key Vault when KeyVault:Endpoint is set) and prints the checkpoint, the newest change-feed entry, the lag,
the queue depths and the failures of the last 24 hours by category.

  --json    print the JSON that GET /api/status returns
  --help`;

export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      io.out(usage);
      return 0;
    }
    json = values.json === true;
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  try {
    const status = await readStatus(await io.runtime());
    io.out(json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${usage}`);
      return 2;
    }
    throw error;
  }
}
