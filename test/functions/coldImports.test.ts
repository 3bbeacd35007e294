import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

/**
 * What a cold worker loads before its first change-feed request: the host imports every function module. Packages
 * that only one setting needs (a managed identity, Key Vault, Application Insights) cost a few hundred milliseconds
 * of CPU to import and are imported where that setting is used, never on this path.
 */
const onlyWhenASettingAsks = [
  '@azure/identity',
  '@azure/keyvault-secrets',
  '@azure/monitor-opentelemetry',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/resources',
  '@opentelemetry/context-async-hooks',
];

const functionsDir = fileURLToPath(new URL('../../functions/', import.meta.url));

/** The npm packages a fresh process resolves while it imports every function module. */
function packagesImportedByFunctions(): string[] {
  const modules = readdirSync(functionsDir)
    .filter((name) => name.endsWith('.js'))
    .map((name) => new URL(name, `file://${functionsDir}`).href);
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        const name = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(resolved.url)?.[1];
        if (name) seen.add(name);
        return resolved;
      },
    });
    for (const url of ${JSON.stringify(modules)}) await import(url);
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const output = execFileSync(process.execPath, ['--input-type=module', '--eval', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(output) as string[];
}

describe('a cold worker', () => {
  it('imports the function modules without the packages only one setting needs', () => {
    const imported = packagesImportedByFunctions();
    assert.ok(imported.includes('@azure/functions'), `the probe saw the imports: ${imported.join(', ')}`);
    assert.deepEqual(
      onlyWhenASettingAsks.filter((name) => imported.includes(name)),
      [],
    );
  });
});
