// The modules where a bug loses or corrupts data, in groups, each with the test files that exercise it. Only unit
// and single-server tests (seconds each): the end-to-end files under test/integration take 10-30 s per run, which a
// mutation run would pay per mutant; they reach the same code in `npm test`. Run in this order by default.
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
    mutate: ['shared/dicomweb/changeFeedRow.ts', 'shared/queue/**/*.ts'],
    tests: [
      'test/shared/dicomweb/*.test.ts',
      'test/shared/queue/*.test.ts',
      'test/shared/dicomweb/changeFeedClient.test.ts',
      'test/shared/queue/buildStudyMessages.test.ts',
      'test/shared/sync/poll.test.ts',
    ],
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
    mutate: ['shared/auth/**/*.ts'],
    tests: [
      'test/shared/auth/*.test.ts',
      'test/shared/fhir/*.test.ts',
      'test/shared/config/loadSettings.test.ts',
      'test/shared/runtime/runtime.test.ts',
      'test/shared/config/keyVaultSecretLeak.test.ts',
    ],
  },
};
