// Mutation testing. `npm run mutate` runs every core folder; `MUTATE_FOLDER=bus npm run mutate` runs one
// with the tests that exercise it (its own, and those FOLDER_TESTS of vitest.stryker.config.ts lists
// for it; results in reports/bus/). Not in CI (it takes long); scores are recorded in docs/testing.md.
// Incremental: each run keeps its results in reports/<folder>/incremental.json (gitignored), so a
// rerun tests only the mutants whose code or covering tests changed.
// `MUTATE_FOLDER=tools MUTATE_FILES=tool-runner.ts,declarative/http.ts npm run mutate` runs only those
// files of the folder (results in reports/tools/<files>/): a folder run is hours on a loaded 2-core
// machine, a file run minutes. `npm run mutate:sample` (scripts/mutate-sample.mjs) runs a random sample
// of a folder's mutants: it sets MUTATE_SAMPLE_DIR, and the run mutates only the spans listed there.
import { readFileSync, writeFileSync } from 'node:fs';

const CORE_FOLDERS = ['bus', 'session', 'pipeline', 'tools', 'server', 'surfaces'];
const folder = process.env.MUTATE_FOLDER;
if (folder !== undefined && !CORE_FOLDERS.includes(folder)) {
  throw new Error(`MUTATE_FOLDER must be one of ${CORE_FOLDERS.join(', ')}`);
}
const folders = folder === undefined ? CORE_FOLDERS : [folder];
const files = process.env.MUTATE_FILES?.split(',').map((f) => f.trim()).filter((f) => f !== '') ?? [];
if (files.length > 0 && folder === undefined) throw new Error('MUTATE_FILES needs MUTATE_FOLDER');
export const reportDir =
  files.length === 0
    ? `reports/${folder ?? 'all'}`
    : `reports/${folder}/${files.map((f) => f.replace(/\.ts$/, '').replaceAll('/', '-')).join('+')}`;
const sampleDir = process.env.MUTATE_SAMPLE_DIR;
const out = sampleDir ?? reportDir;

// The TypeScript checker type-checks the mutated sources and what they import, not every file that
// depends on them (a mutant in the bus would otherwise re-check the whole project).
const tsconfigFile = `.stryker-tsconfig.${reportDir.replace(/^reports\//, '').replaceAll('/', '.')}.json`;
const checked = files.length > 0 ? files.map((f) => `src/${folder}/${f}`) : folders.map((f) => `src/${f}`);
writeFileSync(
  tsconfigFile,
  `${JSON.stringify({ extends: './tsconfig.json', include: checked, exclude: ['src/**/*.test.ts'] }, null, 2)}\n`,
);

/** The files to mutate (scripts/mutate-sample.mjs lists its mutants from the same patterns). */
export const mutatePatterns = [
  ...(files.length > 0 ? files.map((f) => `src/${folder}/${f}`) : folders.map((f) => `src/${f}/**/*.ts`)),
  '!src/**/*.test.ts',
  '!src/**/*.test-d.ts',
  '!src/**/index.ts',
  '!src/server/playground/page/**',
];

/** A sample's spans as Stryker ranges, `file:line:column-line:column` (lines from 1, columns from 0). */
function sampledSpans(dir) {
  const { mutants } = JSON.parse(readFileSync(`${dir}/sample.json`, 'utf8'));
  const range = ({ file, location: { start, end } }) =>
    `${file}:${start.line}:${start.column}-${end.line}:${end.column}`;
  return [...new Set(mutants.map(range))];
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile,
  mutate: sampleDir === undefined ? mutatePatterns : sampledSpans(sampleDir),
  // A sampled run: mutants nested inside a sampled span are not run (scripts/mutate-sample-ignorer.mjs).
  ...(sampleDir === undefined
    ? {}
    : { plugins: ['@stryker-mutator/*', './scripts/mutate-sample-ignorer.mjs'], ignorers: ['sample'] }),
  // Static mutants (module-level constants) need every test re-imported; with Vitest's isolate:false
  // (vitest.stryker.config.ts) they are reported as ignored, and left out of the score.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `${out}/incremental.json`,
  concurrency: 1,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  thresholds: { high: 85, low: 70, break: null },
};
