// The modules where a bug loses or corrupts data, in groups, each with the test files that exercise it. Only unit
// and single-server tests (seconds each): the end-to-end files under test/integration take 10-30 s per run, which a
// mutation run would pay per mutant; they reach the same code in `npm test`. Run in this order by default.
import { readFileSync } from 'node:fs';

/**
 * Mutate patterns for `file` without the lines from the one matching `from` to the one matching `to` (inclusive), found
 * when the run starts, so an edit above them does not shift the range. For data that is documentation only.
 */
function withoutLines(file, from, to) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((line) => from.test(line)) + 1;
  const end = lines.findIndex((line, index) => index >= start && to.test(line)) + 1;
  if (start === 0 || end === 0) throw new Error(`mutation/groups.mjs: ${from} .. ${to} not found in ${file}`);
  return [`!${file}`, ...(start > 1 ? [`${file}:1-${start - 1}`] : []), `${file}:${end + 1}-${lines.length}`];
}

export const groups = {
  fhir: {
    mutate: ['shared/fhir/**/*.ts'],
    tests: [
      'test/shared/fhir/*.test.ts',
      'test/shared/sync/syncStudy.test.ts',
      'test/shared/mapping/transaction/*.test.ts',
    ],
  },
  changefeed: {
    mutate: ['shared/dicomweb/changeFeedRow.ts'],
    tests: ['test/shared/dicomweb/*.test.ts', 'test/shared/sync/poll.test.ts'],
  },
  // queueNames.ts is left out: three constant names, which no test can reach at run time (docs/testing.md).
  // poll.test.ts (19 s a run) is left out: it reaches the queue code through the poller, and the queue's own tests
  // decide the same things in seconds.
  queue: {
    mutate: ['shared/queue/**/*.ts', '!shared/queue/queueNames.ts'],
    tests: ['test/shared/queue/*.test.ts'],
  },
  // shared/sync without the poller's files (the poll group's).
  sync: {
    mutate: [
      'shared/sync/**/*.ts',
      '!shared/sync/poll.ts',
      '!shared/sync/pollPosition.ts',
      '!shared/sync/pollFailures.ts',
      '!shared/sync/enqueueSpans.ts',
    ],
    tests: ['test/shared/sync/*.test.ts', '!test/shared/sync/poll*.test.ts', '!test/shared/sync/enqueueSpans.test.ts'],
  },
  // The timer function's poller: pollChangeFeed and the modules split out of it.
  poll: {
    mutate: [
      'shared/sync/poll.ts',
      'shared/sync/pollPosition.ts',
      'shared/sync/pollFailures.ts',
      'shared/sync/enqueueSpans.ts',
    ],
    tests: ['test/shared/sync/poll*.test.ts', 'test/shared/sync/enqueueSpans.test.ts'],
  },
  transaction: {
    mutate: ['shared/mapping/transaction/**/*.ts'],
    tests: [
      'test/shared/mapping/transaction/*.test.ts',
      'test/shared/mapping/studyOwnership.test.ts',
      'test/shared/mapping/contract.test.ts',
      'test/shared/mapping/demographicsSource.test.ts',
      // The writer's dose Observation requests, against a scripted FHIR client (fast).
      'test/shared/sync/observationsWriter.test.ts',
    ],
  },
  auth: {
    // The setting definitions (paths, descriptions, documented defaults) are documentation: with per-file tests every
    // test file "covers" them at import, so each of their ~70 strings would survive at the cost of every auth test.
    mutate: [
      'shared/auth/**/*.ts',
      ...withoutLines('shared/auth/authConfig.ts', /^const serverLabel/, /^export const authSettingPaths/),
    ],
    // The FHIR, runtime and Key Vault tests reach shared/auth only through `noAuthorization` or a disabled config,
    // which the auth tests cover too; each would add seconds to every surviving mutant.
    tests: ['test/shared/auth/*.test.ts', 'test/shared/config/loadSettings.test.ts'],
  },
};
