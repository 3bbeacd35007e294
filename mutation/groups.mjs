// The modules where a bug loses or corrupts data, in groups, each with the test files that exercise it. Only unit
// and single-server tests (seconds each): the end-to-end files under test/integration take 10-30 s per run, which a
// mutation run would pay per mutant; they reach the same code in `npm test`. Run in this order by default.
export const groups = {
  fhir: {
    mutate: ['shared/fhir/**/*.ts'],
    tests: [
      'test/shared/fhir/*.test.ts',
      'test/shared/sync/syncStudy.test.ts',
      'test/shared/mapping/transaction.test.ts',
    ],
  },
  changefeed: {
    mutate: ['shared/dicomweb/changeFeedRow.ts'],
    tests: ['test/shared/dicomweb/changeFeedRow.test.ts', 'test/shared/dicomweb/changeFeedClient.test.ts'],
  },
  // queueNames.ts is left out: three constant names, which no test can reach at run time (docs/testing.md).
  // poll.test.ts (19 s a run) is left out: it reaches the queue code through the poller, and the queue's own tests
  // decide the same things in seconds.
  queue: {
    mutate: ['shared/queue/**/*.ts', '!shared/queue/queueNames.ts'],
    tests: ['test/shared/queue/*.test.ts'],
  },
  sync: {
    mutate: ['shared/sync/syncStudy.ts'],
    tests: ['test/shared/sync/*.test.ts'],
  },
  poll: {
    mutate: ['shared/sync/poll.ts'],
    tests: ['test/shared/sync/poll.test.ts', 'test/shared/sync/pollV1GapRace.test.ts'],
  },
  transaction: {
    mutate: ['shared/mapping/transaction.ts'],
    tests: [
      'test/shared/mapping/transaction.test.ts',
      'test/shared/mapping/studyOwnership.test.ts',
      'test/shared/mapping/contract.test.ts',
    ],
  },
  auth: {
    mutate: ['shared/auth/**/*.ts'],
    // The FHIR, runtime and Key Vault tests reach shared/auth only through `noAuthorization` or a disabled config,
    // which the auth tests cover too; each would add seconds to every surviving mutant.
    tests: ['test/shared/auth/*.test.ts', 'test/shared/config/loadSettings.test.ts'],
  },
};
