/**
 * `dicom-cast failures list | replay | remove | warnings`: the failure records (what could not be synchronised, where
 * and why), their replay onto the study queue, and the tag warnings.
 */
import type { FailureRecord } from '../../shared/state/failureStore.js';
import type { TagWarningRecord } from '../../shared/state/tagWarningStore.js';
import { replayFailures, type ReplayResult } from '../../shared/ops/replay.js';
import { defineCommand, groupHelpText, runCommand, UsageError, type CommandSpec } from '../commandLine.js';
import type { CliIo } from '../io.js';
import { parseDateOption, parsePositiveInt } from '../optionValues.js';
import { terminalSafe } from '../terminalText.js';

const since = { type: 'string', value: 'DATE', help: 'records at or after this ISO date or date-time' } as const;
const limit = { type: 'string', value: 'N', help: 'at most N, newest first (default 100)' } as const;
const ids = { type: 'string', multiple: true, value: 'ID', help: 'this record (repeatable)' } as const;

export const listCommand = defineCommand({
  name: 'failures list',
  synopsis: ['[--since <ISO date>] [--limit N] [--json]'],
  description: 'the failure records, newest first: when, id, category, study, sequence, attempts and why.',
  options: { since, limit, json: { type: 'boolean', help: 'print the records as JSON, payloads included' } },
});

export const replayCommand = defineCommand({
  name: 'failures replay',
  synopsis: ['(--id <id> [--id <id> ...] | --all [--since <ISO date>])'],
  description: `puts the study message a record holds back on the study queue (re-encoded as the poller would)
and removes the record; records of the same message are replayed once. A record that holds a
change-feed row that could not be read is kept, with the reason it cannot be replayed as it is.
Fix the data first: a replayed message that fails again is recorded again.`,
  options: {
    id: ids,
    all: { type: 'boolean', help: 'every record' },
    since: { ...since, help: 'with --all: ' + since.help },
  },
});

export const removeCommand = defineCommand({
  name: 'failures remove',
  synopsis: ['--id <id> [--id <id> ...]'],
  description: 'deletes records without replaying them (a bad change-feed row whose instance was fixed or resynced).',
  options: { id: ids },
});

export const warningsCommand = defineCommand({
  name: 'failures warnings',
  synopsis: ['[--study <uid>] [--limit N] [--json]'],
  description: `the tag warnings: invalid optional values the mapping skipped (e.g. PatientSex X, a malformed date), one
per study and tag, with the values seen, how many instances and when last seen. They are not failures:
the study was written without those values.`,
  options: {
    study: { type: 'string', value: 'UID', help: 'the warnings of this study only' },
    limit,
    json: { type: 'boolean', help: 'print the warnings as JSON' },
  },
});

const subcommandSpecs: readonly CommandSpec[] = [listCommand, replayCommand, removeCommand, warningsCommand];
const groupHelp = () =>
  groupHelpText(
    'failures',
    subcommandSpecs,
    'Settings are read as the Functions app reads them (local.settings.json, environment, Key Vault).',
  );

/** One line of at most `max` characters, control characters and escape codes from the data shown escaped. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/[ \t\r\n]+/g, ' ').trim();
  return terminalSafe(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
}

export function formatFailures(records: readonly FailureRecord[]): string {
  if (records.length === 0) return 'No failure records.';
  const lines: string[] = [];
  for (const record of records) {
    const where = [
      record.study ? `study ${record.study}` : undefined,
      record.series ? `series ${record.series}` : undefined,
      record.instance ? `instance ${record.instance}` : undefined,
      record.tag ? `tag ${record.tag}` : undefined,
      record.sequence !== undefined ? `sequence ${record.sequence}` : undefined,
      record.attempts !== undefined ? `${record.attempts} attempt${record.attempts === 1 ? '' : 's'}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(oneLine(`${record.occurredAt}  ${record.category}  id ${record.id}`, 1000));
    if (where) lines.push(`  ${oneLine(where, 1000)}`);
    lines.push(`  ${oneLine(record.reason, 300)}`);
  }
  lines.push('', `${records.length} record${records.length === 1 ? '' : 's'}.`);
  return lines.join('\n');
}

export function formatTagWarnings(records: readonly TagWarningRecord[]): string {
  if (records.length === 0) return 'No tag warnings.';
  const lines = records.flatMap((record) => [
    oneLine(`${record.lastSeenAt}  study ${record.study}  ${record.keyword} ${record.tag}`, 1000),
    `  ${oneLine(`values ${record.values.map((value) => JSON.stringify(value)).join(', ') || '(none)'} in ${record.instances} instance(s)${record.instance ? `, e.g. instance ${record.instance}` : ''}`, 2000)}`,
    `  ${oneLine(record.reason, 300)}`,
  ]);
  return [...lines, '', `${records.length} warning${records.length === 1 ? '' : 's'}.`].join('\n');
}

async function warnings(args: string[], io: CliIo): Promise<number> {
  return runCommand(warningsCommand, args, io, async ({ values }) => {
    const count = parsePositiveInt('limit', values.limit, 100);
    const runtime = await io.runtime();
    const records = await runtime.tagWarnings.list({ ...(values.study ? { study: values.study } : {}), limit: count });
    io.out(values.json ? JSON.stringify(records, null, 2) : formatTagWarnings(records));
    return 0;
  });
}

function describeResult(result: ReplayResult): string {
  switch (result.outcome) {
    case 'replayed':
      return `replayed  ${result.id}  study ${result.study} (sequence ${result.maxSequence})`;
    case 'cleared':
      return `cleared   ${result.id}  same message as ${result.sameAs}`;
    case 'not-replayable':
      return `kept      ${result.id}  ${result.why}`;
    case 'not-found':
      return `not found ${result.id}`;
  }
}

async function list(args: string[], io: CliIo): Promise<number> {
  return runCommand(listCommand, args, io, async ({ values }) => {
    const from = values.since !== undefined ? parseDateOption('since', values.since) : undefined;
    const count = parsePositiveInt('limit', values.limit, 100);
    const runtime = await io.runtime();
    const records = await runtime.failures.list({ ...(from ? { since: from } : {}), limit: count });
    io.out(values.json ? JSON.stringify(records, null, 2) : formatFailures(records));
    return 0;
  });
}

async function replay(args: string[], io: CliIo): Promise<number> {
  return runCommand(replayCommand, args, io, async ({ values }) => {
    const chosen = values.id ?? [];
    if (chosen.length > 0 === (values.all === true))
      throw new UsageError('Give either --id <id> (repeatable) or --all');
    if (values.since !== undefined && !values.all) throw new UsageError('--since goes with --all');
    const from = values.since !== undefined ? parseDateOption('since', values.since) : undefined;
    const runtime = await io.runtime();
    const results = await replayFailures(
      runtime,
      chosen.length > 0 ? { ids: chosen } : { all: true, ...(from ? { since: from } : {}) },
    );
    for (const result of results) io.out(terminalSafe(describeResult(result)));
    const count = (outcome: ReplayResult['outcome']) => results.filter((result) => result.outcome === outcome).length;
    io.out(
      `${count('replayed')} message(s) re-enqueued, ${count('replayed') + count('cleared')} record(s) cleared, ` +
        `${count('not-replayable')} kept, ${count('not-found')} not found.`,
    );
    // Asked for by id and not done: say so in the exit code. With --all, kept records are reported, not errors.
    return chosen.length > 0 && (count('not-replayable') > 0 || count('not-found') > 0) ? 1 : 0;
  });
}

async function remove(args: string[], io: CliIo): Promise<number> {
  return runCommand(removeCommand, args, io, async ({ values }) => {
    const chosen = values.id ?? [];
    if (chosen.length === 0) throw new UsageError('Give --id <id> (repeatable)');
    const runtime = await io.runtime();
    const known = new Set((await runtime.failures.list({ limit: 100_000 })).map((record) => record.id));
    let missing = 0;
    for (const id of chosen) {
      if (!known.has(id)) {
        io.out(`not found ${id}`);
        missing++;
        continue;
      }
      await runtime.failures.remove(id);
      io.out(`removed   ${id}`);
    }
    return missing > 0 ? 1 : 0;
  });
}

const subcommands: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  list,
  replay,
  remove,
  warnings,
};

export async function run(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    io.out(groupHelp());
    return subcommand === undefined ? 2 : 0;
  }
  const runSubcommand = Object.hasOwn(subcommands, subcommand) ? subcommands[subcommand] : undefined;
  if (!runSubcommand) {
    io.err(`dicom-cast failures: Unknown subcommand "${subcommand}".\n\n${groupHelp()}`);
    return 2;
  }
  return runSubcommand(rest, io);
}
