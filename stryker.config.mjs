// Mutation testing (npm run mutate; docs/testing.md). One Stryker run per group of modules, chosen by
// MUTATE_GROUP (scripts/mutate.mjs sets it): each group runs only the test files that can kill its mutants, keeps
// its own incremental file (committed, so a later run re-tests only what changed) and writes its own HTML report.
import { groups } from './mutation/groups.mjs';

const name = process.env.MUTATE_GROUP ?? 'writer';
const group = groups[name];
if (!group) throw new Error(`MUTATE_GROUP ${name} is not one of ${Object.keys(groups).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: {
    testFiles: group.tests,
    // Node's test runner prints TAP with --test-reporter=tap; tsx runs the TypeScript sources Stryker instrumented.
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '--require', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  // Per test file: a mutant runs only the files that reach it.
  coverageAnalysis: 'perTest',
  // With per-file tests a module's top level runs inside a test, so this finds little; documentation-only data is
  // left out through the groups' mutate patterns instead (docs/testing.md).
  ignoreStatic: true,
  mutate: group.mutate,
  ignorePatterns: [
    'dist',
    'reports',
    '.stryker-tmp*',
    '.local',
    'coverage',
    '__azurite_db*',
    '__blobstorage__',
    '__queuestorage__',
  ],
  incremental: true,
  incrementalFile: `mutation/incremental/${name}.json`,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  concurrency: 2,
  timeoutMS: 20000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
