// Mutation testing: `npm run mutate` (all core folders) or `npm run mutate -- --mutate 'src/bus/**/*.ts'`.
// Not in CI (it takes long); scores are recorded in docs/testing.md. Incremental: results are kept in
// reports/stryker-incremental.json (gitignored), so a rerun tests only changed code and tests.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: [
    'src/bus/**/*.ts',
    'src/session/**/*.ts',
    'src/pipeline/**/*.ts',
    'src/tools/**/*.ts',
    'src/server/**/*.ts',
    'src/surfaces/**/*.ts',
    '!src/**/*.test.ts',
    '!src/**/*.test-d.ts',
    '!src/**/index.ts',
    '!src/server/playground/page/**',
  ],
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 1,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  thresholds: { high: 85, low: 70, break: null },
};
