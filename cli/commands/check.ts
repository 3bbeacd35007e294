/**
 * `dicom-cast check`: reads the configuration the way the Functions app does (environment, local.settings.json,
 * Key Vault) and checks, for each server, the authentication settings, that a token can be obtained and that one
 * cheap authenticated call succeeds; also that the configuration validates and storage answers.
 * Prints one line per step; a failure gets one line with the likely cause. Never prints a secret or a token.
 * The steps are in check/: settings, storage, each server (with its authentication diagnoses).
 */
import { defineCommand, runCommand, UsageError } from '../commandLine.js';
import type { CliIo } from '../io.js';
import { Report } from './check/report.js';
import { checkServer } from './check/serverCheck.js';
import { checkConfiguration, checkSettings } from './check/settingsChecks.js';
import { checkStorage } from './check/storageCheck.js';

export const command = defineCommand({
  name: 'check',
  synopsis: ['[options]'],
  description: `Reads the configuration as the Functions app does (environment, local.settings.json in the current folder,
Key Vault when KeyVault:Endpoint is set), then checks the configuration, storage, and for the DICOM and the
FHIR server: the authentication settings, a token, and one authenticated call. Exit code 0 only when all pass.`,
  options: {
    timeout: { type: 'string', value: 'SECONDS', help: 'per request (default 15)' },
    'skip-storage': { type: 'boolean', help: 'do not check AzureWebJobsStorage' },
  },
});

export async function run(args: string[], io: CliIo): Promise<number> {
  return runCommand(command, args, io, async ({ values }) => {
    const timeoutSeconds = values.timeout === undefined ? 15 : Number(values.timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new UsageError('--timeout must be a positive number of seconds');
    }
    const timeoutMs = timeoutSeconds * 1000;
    const report = new Report((line) => io.out(line));

    const settings = await checkSettings(report, io.settings, timeoutMs);
    if (!settings) {
      io.out('Result: FAIL');
      return 1;
    }
    checkConfiguration(report, settings);
    if (!values['skip-storage']) await checkStorage(report, settings, timeoutMs);
    const dicomPassed = await checkServer(report, settings, 'DicomWeb', timeoutMs);
    const fhirPassed = await checkServer(report, settings, 'Fhir', timeoutMs);

    const passed = dicomPassed && fhirPassed && report.failures === 0;
    io.out(
      passed
        ? 'Result: PASS'
        : `Result: FAIL (${report.failures} problem${report.failures === 1 ? '' : 's'}; ` +
            `DICOM server ${dicomPassed ? 'ok' : 'failed'}, FHIR server ${fhirPassed ? 'ok' : 'failed'})`,
    );
    return passed ? 0 : 1;
  });
}
