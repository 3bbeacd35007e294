#!/usr/bin/env node
/**
 * `dicom-cast <command>`: the tools an integration engineer runs beside the Functions app.
 * Each command lives in cli/commands/<name>.ts and exports `run(args, io): Promise<number>` (the exit code); it is
 * loaded only when run, so `map` does not load the Azure SDKs.
 */
import { errorMessage } from '../shared/lib/errorDetails.js';
import { processIo, type CliIo } from './io.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ run: (args: string[], io: CliIo) => Promise<number> }>;
}

const commands: Record<string, CommandEntry> = {
  map: {
    summary: 'print the FHIR transaction a DICOM JSON file, .dcm file or folder would become',
    load: () => import('./commands/map.js'),
  },
  check: {
    summary: 'check the configuration, authentication and reachability of both servers',
    load: () => import('./commands/check.js'),
  },
  status: {
    summary: 'checkpoint, change-feed lag, queue depths and the last 24 hours of failures',
    load: () => import('./commands/status.js'),
  },
  failures: {
    summary:
      'failure records: list, replay onto the study queue, remove; and tag warnings (list | replay | remove | warnings)',
    load: () => import('./commands/failures.js'),
  },
  resync: {
    summary: 'enqueue a reconcile message for one study (--study) or every study of the DICOM server (--all)',
    load: () => import('./commands/resync.js'),
  },
  verify: {
    summary: 'compare the DICOM server with FHIR and print what differs (--repair enqueues the fixes)',
    load: () => import('./commands/verify.js'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'Usage: dicom-cast <command> [options]',
    '',
    ...Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    'dicom-cast <command> --help shows the options of a command.',
  ].join('\n');
}

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exit(name ? 0 : 2);
}
const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
if (!command) {
  console.error(`Unknown command "${name}".\n\n${usage()}`);
  process.exit(2);
}
try {
  const module = await command.load();
  process.exitCode = await module.run(args, processIo());
} catch (error) {
  console.error(`dicom-cast ${name}: ${errorMessage(error)}`);
  process.exitCode = 1;
}
