import { inspect } from 'node:util';

/** Everything written to the console or to stdout/stderr while `run` runs (still passed through). */
export async function captureOutput(run: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const restore: Array<() => void> = [];
  const replace = (target: object, key: string, replacement: unknown) => {
    const original = Object.getOwnPropertyDescriptor(target, key);
    Object.defineProperty(target, key, { value: replacement, configurable: true, writable: true });
    restore.push(() => (original ? Object.defineProperty(target, key, original) : Reflect.deleteProperty(target, key)));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
    replace(console, method, (...args: unknown[]) => {
      written.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 10 }))).join(' '));
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    replace(stream, 'write', (chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    });
  }
  try {
    await run();
  } finally {
    for (const undo of restore.reverse()) undo();
  }
  return written.join('\n');
}

/** Every way an error may end up in a log. */
export function renderings(error: unknown): string[] {
  return [
    String(error),
    error instanceof Error ? (error.stack ?? '') : '',
    error instanceof Error ? error.message : '',
    JSON.stringify(error) ?? '',
    inspect(error, { depth: 10, showHidden: true }),
  ];
}

/** A value as it may appear: as is, URL-encoded, or form-encoded. */
export function encodings(value: string): string[] {
  return [value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice('v='.length)];
}

/** Fails when any of `secrets` (in any encoding) appears in any of `texts`. */
export function assertNoneLeaked(texts: readonly string[], secrets: readonly string[], what: string): void {
  for (const secret of secrets) {
    for (const encoded of encodings(secret)) {
      for (const text of texts) {
        if (text.includes(encoded)) throw new Error(`a secret (${secret.length} characters) leaked into ${what}`);
      }
    }
  }
}
