import type { Runtime } from '../runtime/runtime.js';
import { loadOpsRuntime } from './opsRuntime.js';

/** Where an operations command writes and how it gets its runtime; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: progress is drawn only then. */
  errIsTTY: boolean;
  /** Rewrites the current stderr line (progress). */
  progress(text: string): void;
  runtime(): Promise<Runtime>;
}

export function processIo(): CliIo {
  let runtime: Promise<Runtime> | undefined;
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    errIsTTY: process.stderr.isTTY === true,
    progress: (text) => process.stderr.write(`\r\u001b[2K${text}`),
    runtime: () => (runtime ??= loadOpsRuntime()),
  };
}

/** Parses an ISO date or date-time given on the command line. */
export function parseDateOption(name: string, text: string): Date {
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(time)) {
    throw new UsageError(`--${name} must be an ISO date or date-time (e.g. 2024-03-01 or 2024-03-01T12:00:00Z)`);
  }
  return new Date(time);
}

export function parsePositiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--${name} must be a positive whole number`);
  return Number(text);
}

/** A mistake on the command line: the command prints its usage and exits with 2. */
export class UsageError extends Error {}

/** A progress bar for a walk whose total is unknown (QIDO-RS does not count): a moving block and the figures. */
export function progressLine(done: number, label: string, startedAt: number, now = Date.now()): string {
  const width = 20;
  const tick = Math.floor((now - startedAt) / 200) % (2 * (width - 4));
  const at = tick < width - 4 ? tick : 2 * (width - 4) - tick;
  const bar = ' '.repeat(at) + '####' + ' '.repeat(width - 4 - at);
  const seconds = Math.max(0.001, (now - startedAt) / 1000);
  return `[${bar}] ${done.toLocaleString('en-US')} ${label} (${(done / seconds).toFixed(1)}/s)`;
}
