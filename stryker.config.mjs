// Mutation testing. `npm run mutate` runs every core folder; `MUTATE_FOLDER=bus npm run mutate` runs one
// (results in reports/bus/). Not in CI (it takes long); scores are recorded in docs/testing.md.
// Incremental: each run keeps its results in reports/<folder>/incremental.json (gitignored), so a rerun
// tests only the mutants whose code or covering tests changed.
const CORE_FOLDERS = ['bus', 'session', 'pipeline', 'tools', 'server', 'surfaces'];
const folder = process.env.MUTATE_FOLDER;
if (folder !== undefined && !CORE_FOLDERS.includes(folder)) {
  throw new Error(`MUTATE_FOLDER must be one of ${CORE_FOLDERS.join(', ')}`);
}
const folders = folder === undefined ? CORE_FOLDERS : [folder];
const out = `reports/${folder ?? 'all'}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: [
    ...folders.map((f) => `src/${f}/**/*.ts`),
    '!src/**/*.test.ts',
    '!src/**/*.test-d.ts',
    '!src/**/index.ts',
    '!src/server/playground/page/**',
  ],
  incremental: true,
  incrementalFile: `${out}/incremental.json`,
  concurrency: 1,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  thresholds: { high: 85, low: 70, break: null },
};
