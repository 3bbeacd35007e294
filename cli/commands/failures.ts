/**
 * `dicom-cast failures list | replay`: the failure records (what could not be synchronised, where and why) and
 * their replay onto the study queue.
 */
import { parseArgs } from 'node:util';
import { parseDateOption, parsePositiveInt, processIo, UsageError, type CliIo } from '../../shared/ops/cli.js';
import { replayFailures, type ReplayResult } from '../../shared/ops/replay.js';
import type { FailureRecord } from '../../shared/state/failureStore.js';
import type { TagWarningRecord } from '../../shared/state/tagWarningStore.js';
import { terminalSafe } from '../terminalText.js';

const usage = `Usage:
  dicom-cast failures list [--since <ISO date>] [--limit N] [--json]
  dicom-cast failures replay (--id <id> [--id <id> ...] | --all [--since <ISO date>])
  dicom-cast failures remove --id <id> [--id <id> ...]
  dicom-cast failures warnings [--study <uid>] [--limit N] [--json]

list     the failure records, newest first: when, id, category, study, sequence, attempts and why.
         --since keeps records at or after that time; --limit caps the count (default 100);
         --json prints the records as JSON, payloads included.
replay   puts the study message a record holds back on the study queue (re-encoded as the poller would)
         and removes the record; records of the same message are replayed once. A record that holds a
         change-feed row that could not be read is kept, with the reason it cannot be replayed as it is.
         Fix the data first: a replayed message that fails again is recorded again.
remove   deletes records without replaying them (a bad change-feed row whose instance was fixed or resynced).
warnings the tag warnings: invalid optional values the mapping skipped (e.g. PatientSex X, a malformed date), one
         per study and tag, with the values seen, how many instances and when last seen. They are not failures:
         the study was written without those values.

Settings are read as the Functions app reads them (local.settings.json, environment, Key Vault).`;

function usageError(io: CliIo, message: string): number {
  io.err(`${message}\n\n${usage}`);
  return 2;
}

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
  const { values } = parseArgs({
    args,
    options: { study: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const limit = parsePositiveInt('limit', values.limit, 100);
  const runtime = await io.runtime();
  const records = await runtime.tagWarnings.list({ ...(values.study ? { study: values.study } : {}), limit });
  io.out(values.json ? JSON.stringify(records, null, 2) : formatTagWarnings(records));
  return 0;
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
  const { values } = parseArgs({
    args,
    options: { since: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const since = values.since !== undefined ? parseDateOption('since', values.since) : undefined;
  const limit = parsePositiveInt('limit', values.limit, 100);
  const runtime = await io.runtime();
  const records = await runtime.failures.list({ ...(since ? { since } : {}), limit });
  io.out(values.json ? JSON.stringify(records, null, 2) : formatFailures(records));
  return 0;
}

async function replay(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { id: { type: 'string', multiple: true }, all: { type: 'boolean' }, since: { type: 'string' } },
    strict: true,
  });
  const ids = values.id ?? [];
  if (ids.length > 0 === (values.all === true)) throw new UsageError('Give either --id <id> (repeatable) or --all');
  if (values.since !== undefined && !values.all) throw new UsageError('--since goes with --all');
  const since = values.since !== undefined ? parseDateOption('since', values.since) : undefined;
  const runtime = await io.runtime();
  const results = await replayFailures(runtime, ids.length > 0 ? { ids } : { all: true, ...(since ? { since } : {}) });
  for (const result of results) io.out(terminalSafe(describeResult(result)));
  const count = (outcome: ReplayResult['outcome']) => results.filter((result) => result.outcome === outcome).length;
  io.out(
    `${count('replayed')} message(s) re-enqueued, ${count('replayed') + count('cleared')} record(s) cleared, ` +
      `${count('not-replayable')} kept, ${count('not-found')} not found.`,
  );
  // Asked for by id and not done: say so in the exit code. With --all, kept records are reported, not errors.
  return ids.length > 0 && (count('not-replayable') > 0 || count('not-found') > 0) ? 1 : 0;
}

async function remove(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string', multiple: true } }, strict: true });
  const ids = values.id ?? [];
  if (ids.length === 0) throw new UsageError('Give --id <id> (repeatable)');
  const runtime = await io.runtime();
  const known = new Set((await runtime.failures.list({ limit: 100_000 })).map((record) => record.id));
  let missing = 0;
  for (const id of ids) {
    if (!known.has(id)) {
      io.out(`not found ${id}`);
      missing++;
      continue;
    }
    await runtime.failures.remove(id);
    io.out(`removed   ${id}`);
  }
  return missing > 0 ? 1 : 0;
}

export async function run(args: string[], io: CliIo = processIo()): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    io.out(usage);
    return subcommand === undefined ? 2 : 0;
  }
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(usage);
      return 0;
    }
    if (subcommand === 'list') return await list(rest, io);
    if (subcommand === 'replay') return await replay(rest, io);
    if (subcommand === 'remove') return await remove(rest, io);
    if (subcommand === 'warnings') return await warnings(rest, io);
    return usageError(io, `Unknown subcommand "${subcommand}".`);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      return usageError(io, (error as Error).message);
    }
    throw error;
  }
}
