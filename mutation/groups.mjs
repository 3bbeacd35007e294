// The modules where a bug loses or corrupts data, in groups, each with the test files that exercise it. Only unit
// and single-server tests (seconds each): the end-to-end files under test/integration take 10-30 s per run, which a
// mutation run would pay per mutant; they reach the same code in `npm test`. Run in this order by default.
export const groups = {
  fhir: {
    mutate: ['shared/fhir/**/*.ts'],
    tests: ['test/fhir/*.test.ts', 'test/sync/syncStudy.test.ts', 'test/mapping/transaction.test.ts'],
  },
  changefeed: {
    mutate: ['shared/dicomweb/changeFeedRow.ts', 'shared/queue/**/*.ts'],
    tests: [
      'test/dicomweb/*.test.ts',
      'test/queue/*.test.ts',
      'test/poll/changeFeedClient.test.ts',
      'test/poll/studyMessages.test.ts',
      'test/poll/pollChangeFeed.test.ts',
    ],
  },
  sync: {
    mutate: ['shared/sync/syncStudy.ts'],
    tests: ['test/sync/*.test.ts'],
  },
  poll: {
    mutate: ['shared/sync/poll.ts'],
    tests: ['test/poll/pollChangeFeed.test.ts', 'test/poll/v1GapRace.test.ts'],
  },
  transaction: {
    mutate: ['shared/mapping/transaction.ts'],
    tests: ['test/mapping/transaction.test.ts', 'test/mapping/studyOwnership.test.ts', 'test/mapping/contract.test.ts'],
  },
  auth: {
    mutate: ['shared/auth/**/*.ts'],
    tests: [
      'test/auth/*.test.ts',
      'test/fhir/*.test.ts',
      'test/config/loadSettings.test.ts',
      'test/config/runtimeSettings.test.ts',
      'test/config/keyVaultSecretLeak.test.ts',
    ],
  },
};
