import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { command as checkCommand } from '../../cli/commands/check.js';
import { listCommand, removeCommand, replayCommand, warningsCommand } from '../../cli/commands/failures.js';
import { command as mapCommand } from '../../cli/commands/map.js';
import { command as resyncCommand } from '../../cli/commands/resync.js';
import { command as statusCommand } from '../../cli/commands/status.js';
import { command as verifyCommand } from '../../cli/commands/verify.js';
import {
  defineCommand,
  helpText,
  parseCommandLine,
  runCommand,
  UsageError,
  type CommandSpec,
} from '../../cli/commandLine.js';
import { processIo } from '../../cli/io.js';

const example = defineCommand({
  name: 'example',
  synopsis: ['<input> [--offset +HH:MM] [--id ID ...] [--json]'],
  positionals: '<input>',
  description: 'An example.',
  options: {
    offset: { type: 'string', value: '+HH:MM', help: 'an offset' },
    id: { type: 'string', multiple: true, value: 'ID', help: 'an id\n(repeatable)' },
    json: { type: 'boolean', short: 'j', help: 'as JSON' },
  },
});
const noPositionals = defineCommand({
  name: 'strict',
  synopsis: ['[--json]'],
  description: 'No positional arguments.',
  options: { json: { type: 'boolean', help: 'as JSON' } },
});

function usageErrorOf(spec: CommandSpec, args: string[]): string {
  try {
    parseCommandLine(spec, args);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`no usage error for ${args.join(' ')}`);
}

describe('command lines', () => {
  it('parses the options of the table with util.parseArgs', () => {
    const parsed = parseCommandLine(example, ['in.json', '--offset', '-05:00', '--id', 'a', '--id=b', '-j']);
    assert.notEqual(parsed, 'help');
    if (parsed === 'help') return;
    assert.deepEqual(parsed.positionals, ['in.json']);
    assert.equal(parsed.values.offset, '-05:00', 'a value may start with one dash');
    assert.deepEqual(parsed.values.id, ['a', 'b']);
    assert.equal(parsed.values.json, true);
    assert.equal(parseCommandLine(example, ['x', '-h']), 'help');
    assert.equal(parseCommandLine(example, ['--help']), 'help');
  });

  const mistakes: [string, CommandSpec, string[], string][] = [
    ['an unknown option', example, ['x', '--bogus'], 'unknown option --bogus'],
    ['an unknown short option', example, ['-x'], 'unknown option -x'],
    ['a value missing at the end', example, ['x', '--offset'], '--offset needs a value'],
    ['an option where a value belongs', example, ['x', '--offset', '--json'], '--offset needs a value'],
    ['a value given to a flag', example, ['--json=yes'], '--json takes no value'],
    ['a positional where none is taken', noPositionals, ['extra'], 'unexpected argument extra'],
  ];
  for (const [name, spec, args, message] of mistakes) {
    it(`words ${name} as a usage error`, () => {
      assert.equal(usageErrorOf(spec, args), message);
    });
  }

  it('runCommand prints --help on stdout (exit 0) and a usage error with the help on stderr (exit 2)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = processIo({ out: (text) => out.push(text), err: (text) => err.push(text) });
    const body = async () => {
      throw new UsageError('Give either --id or --json');
    };
    assert.equal(await runCommand(example, ['--help'], io, body), 0);
    assert.deepEqual(out, [helpText(example)]);
    assert.equal(await runCommand(example, ['x'], io, body), 2);
    assert.equal(err.join('\n'), `dicom-cast example: Give either --id or --json\n\n${helpText(example)}`);
    await assert.rejects(
      runCommand(example, ['x'], io, async () => {
        throw new Error('not a usage error');
      }),
      /not a usage error/,
    );
  });

  it('--help lists every option of the table, with its value and help, and -h, --help', () => {
    const help = helpText(example);
    assert.match(help, /^Usage: dicom-cast example <input> \[--offset \+HH:MM\]/);
    assert.match(help, /^ {2}--offset \+HH:MM {2}an offset$/m);
    assert.match(help, /^ {2}--id ID {10}an id\n {19}\(repeatable\)$/m);
    assert.match(help, /^ {2}-j, --json {7}as JSON$/m);
    assert.match(help, /^ {2}-h, --help {7}this text$/m);
  });

  const commands: CommandSpec[] = [
    mapCommand,
    checkCommand,
    statusCommand,
    verifyCommand,
    resyncCommand,
    listCommand,
    replayCommand,
    removeCommand,
    warningsCommand,
  ];
  for (const spec of commands) {
    it(`dicom-cast ${spec.name}: every option its usage names is in the table the parser reads`, () => {
      const named = [...spec.synopsis.join(' ').matchAll(/--([a-z][a-z-]*)/g)].map((match) => match[1] ?? '');
      for (const name of named) assert.ok(Object.hasOwn(spec.options, name), `--${name} is not an option`);
      const help = helpText(spec);
      for (const name of Object.keys(spec.options)) assert.match(help, new RegExp(`^ {2}--${name}\\b`, 'm'));
    });
  }
});
