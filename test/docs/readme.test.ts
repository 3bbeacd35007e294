import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { settingDefinitions } from '../../shared/config/settingDefinitions.js';

const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  it('opens with the two commands that work on a fresh clone', () => {
    const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    assert.match(firstBlock, /^npm ci && npm run local/m);
    assert.match(firstBlock, /^npm ci && npm test/m);
    assert.match(readFileSync('.ci/run', 'utf8'), /^npm test$/m);
  });

  it('documents every setting the app reads, with its default', () => {
    for (const definition of Object.values(settingDefinitions)) {
      const name = definition.path.replaceAll(':', '__');
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      assert.ok(row, `README configuration reference lacks ${name}`);
      if ('default' in definition && definition.default) assert.ok(row.includes(definition.default), `${name} default`);
    }
  });
});
