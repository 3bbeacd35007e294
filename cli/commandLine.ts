/**
 * Command lines of `dicom-cast`: each command declares its options in one table, which `util.parseArgs` parses and
 * `--help` is written from, so the two cannot disagree. A mistake on the command line is a `UsageError`: the
 * command's help follows the message and the exit code is 2.
 */
import { parseArgs } from 'node:util';
import type { CliIo } from './io.js';

/** One option: what `util.parseArgs` needs, and what `--help` shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's name in `--help` (`--timeout SECONDS`); string options only. */
  value?: string;
  /** What it does; each `\n` starts a line aligned under the first. */
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

export interface CommandSpec<O extends OptionTable = OptionTable> {
  /** As typed after `dicom-cast`: `map`, `failures list`. */
  name: string;
  /** What follows the name on each usage line, e.g. `<input> [options]`. */
  synopsis: readonly string[];
  /** The prose between the usage lines and the options. */
  description: string;
  options: O;
  /** The name of the positional arguments the command takes (`<input>`); without it, none are allowed. */
  positionals?: string;
  /** Prose after the options (exit status, examples). */
  footer?: string;
}

type OptionValue<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

export type OptionValues<O extends OptionTable> = { [K in keyof O]?: OptionValue<O[K]> };

export interface CommandLine<O extends OptionTable> {
  values: OptionValues<O>;
  positionals: string[];
}

/** A mistake on the command line: the command prints its help after the message and exits with 2. */
export class UsageError extends Error {}

/** Keeps the literal types of an option table, so the parsed values are typed from it. */
export function defineCommand<const O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

const helpOption: OptionSpec = { type: 'boolean', short: 'h', help: 'this text' };

function withHelp(options: OptionTable): OptionTable {
  return { ...options, help: helpOption };
}

/**
 * The command line, or `'help'` when `--help` / `-h` is given. parseArgs runs with `strict: false` and its tokens
 * are checked here: so that a value may start with one dash (`--timezone-offset -05:00`) and every mistake is worded
 * the same way (`unknown option --x`, `--endpoint needs a value`).
 */
export function parseCommandLine<O extends OptionTable>(
  command: CommandSpec<O>,
  args: string[],
): CommandLine<O> | 'help' {
  const options = withHelp(command.options);
  const parsed = parseArgs({
    args,
    options: Object.fromEntries(
      Object.entries(options).map(([name, { type, short, multiple }]) => [
        name,
        { type, ...(short ? { short } : {}), ...(multiple ? { multiple } : {}) },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of parsed.tokens) {
    if (token.kind === 'positional' && command.positionals === undefined) {
      throw new UsageError(`unexpected argument ${token.value}`);
    }
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    if (!option) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean' && token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
    if (
      option.type === 'string' &&
      (token.value === undefined || (!token.inlineValue && token.value.startsWith('--')))
    ) {
      throw new UsageError(`${token.rawName} needs a value`);
    }
  }
  if (parsed.values.help === true) return 'help';
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
}

/** `--help` of a command: usage lines, description, the options of its table, footer. */
export function helpText(command: CommandSpec): string {
  const usage =
    command.synopsis.length === 1
      ? [`Usage: dicom-cast ${command.name} ${command.synopsis[0]}`]
      : ['Usage:', ...command.synopsis.map((line) => `  dicom-cast ${command.name} ${line}`)];
  return [...usage, '', command.description, '', 'Options:', optionLines(command.options), ...footer(command)].join(
    '\n',
  );
}

function footer(command: CommandSpec): string[] {
  return command.footer === undefined ? [] : ['', command.footer];
}

/** The options of a table, one per line, descriptions aligned; `-h, --help` last unless `help` is false. */
export function optionLines(options: OptionTable, help = true): string {
  const rows = Object.entries(help ? withHelp(options) : options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`;
    return { flag, help: option.help };
  });
  const width = Math.max(...rows.map((row) => row.flag.length)) + 2;
  return rows
    .flatMap(({ flag, help }) =>
      help.split('\n').map((line, index) => `  ${(index === 0 ? flag : '').padEnd(width)}${line}`.trimEnd()),
    )
    .join('\n');
}

/**
 * `--help` of a command made of subcommands (`failures`): every subcommand's usage lines, then per subcommand its
 * description and options.
 */
export function groupHelpText(name: string, subcommands: readonly CommandSpec[], footer: string): string {
  return [
    'Usage:',
    ...subcommands.flatMap((spec) => spec.synopsis.map((line) => `  dicom-cast ${spec.name} ${line}`)),
    '',
    ...subcommands.flatMap((spec) => [
      `${spec.name.slice(name.length + 1)}: ${spec.description}`,
      optionLines(spec.options, false),
      '',
    ]),
    footer,
    `dicom-cast ${name} <subcommand> --help shows one subcommand.`,
  ].join('\n');
}

/** Parses `args`, answers `--help`, runs `body`; a `UsageError` from either prints the message and the help (exit 2). */
export async function runCommand<O extends OptionTable>(
  command: CommandSpec<O>,
  args: string[],
  io: CliIo,
  body: (commandLine: CommandLine<O>) => Promise<number>,
): Promise<number> {
  try {
    const commandLine = parseCommandLine(command, args);
    if (commandLine === 'help') {
      io.out(helpText(command));
      return 0;
    }
    return await body(commandLine);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`dicom-cast ${command.name}: ${error.message}\n\n${helpText(command)}`);
    return 2;
  }
}
