// npm run mutate [-- group ...]: Stryker over each group of mutation/groups.mjs (all by default), one after another.
// Reports: reports/mutation/<group>.html; the incremental files in mutation/incremental/ make reruns test only what
// changed since. Not part of CI (it takes minutes to hours); see docs/testing.md.
import { spawnSync } from 'node:child_process';
import { groups } from '../mutation/groups.mjs';

const wanted = process.argv.slice(2);
for (const name of wanted)
  if (!groups[name]) throw new Error(`unknown group ${name}: ${Object.keys(groups).join(', ')}`);
let failed = false;
for (const name of wanted.length ? wanted : Object.keys(groups)) {
  const started = Date.now();
  console.log(`\n== mutation group ${name}`);
  const result = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
    stdio: 'inherit',
    env: { ...process.env, MUTATE_GROUP: name },
  });
  console.log(`== ${name}: ${((Date.now() - started) / 60000).toFixed(1)} min, exit ${result.status}`);
  failed ||= result.status !== 0;
}
process.exit(failed ? 1 : 0);
