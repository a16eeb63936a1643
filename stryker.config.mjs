// Mutation testing. `npm run mutate` runs every core folder; `MUTATE_FOLDER=bus npm run mutate` runs one
// with that folder's own tests (results in reports/bus/). Not in CI (it takes long); scores are recorded
// in docs/testing.md. Incremental: each run keeps its results in reports/<folder>/incremental.json
// (gitignored), so a rerun tests only the mutants whose code or covering tests changed.
import { writeFileSync } from 'node:fs';

const CORE_FOLDERS = ['bus', 'session', 'pipeline', 'tools', 'server', 'surfaces'];
const folder = process.env.MUTATE_FOLDER;
if (folder !== undefined && !CORE_FOLDERS.includes(folder)) {
  throw new Error(`MUTATE_FOLDER must be one of ${CORE_FOLDERS.join(', ')}`);
}
const folders = folder === undefined ? CORE_FOLDERS : [folder];
const out = `reports/${folder ?? 'all'}`;

// The TypeScript checker type-checks the mutated folder's sources and what they import, not every
// file that depends on them (a mutant in the bus would otherwise re-check the whole project).
const tsconfigFile = `.stryker-tsconfig.${folder ?? 'all'}.json`;
writeFileSync(
  tsconfigFile,
  `${JSON.stringify({ extends: './tsconfig.json', include: folders.map((f) => `src/${f}`), exclude: ['src/**/*.test.ts'] }, null, 2)}\n`,
);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile,
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
