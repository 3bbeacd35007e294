// npm run mutate [-- group ...] [-- --stryker-option value ...]: Stryker over each group of mutation/groups.mjs (all
// by default), one after another. Arguments that start with `--` go to Stryker as they are (e.g. `--concurrency 1`,
// `--force` to ignore the incremental file). Reports: reports/mutation/<group>.html; the incremental files in
// mutation/incremental/ make reruns test only what changed since. Not part of CI; see docs/testing.md.
import { spawnSync } from 'node:child_process';
import { groups } from '../mutation/groups.mjs';

const args = process.argv.slice(2);
const firstOption = args.findIndex((arg) => arg.startsWith('--'));
const wanted = firstOption === -1 ? args : args.slice(0, firstOption);
const strykerOptions = firstOption === -1 ? [] : args.slice(firstOption);
for (const name of wanted)
  if (!groups[name]) throw new Error(`unknown group ${name}: ${Object.keys(groups).join(', ')}`);
const timings = [];
let failed = false;
for (const name of wanted.length ? wanted : Object.keys(groups)) {
  const started = Date.now();
  console.log(`\n== mutation group ${name}`);
  const result = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...strykerOptions], {
    stdio: 'inherit',
    env: { ...process.env, MUTATE_GROUP: name },
  });
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  timings.push(`${name}: ${minutes} min, exit ${result.status}`);
  console.log(`== ${timings.at(-1)}`);
  failed ||= result.status !== 0;
}
if (timings.length > 1) console.log(`\n== ${timings.join('; ')}`);
process.exit(failed ? 1 : 0);
