import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/support/slow-first-sequencer.ts';

/**
 * Files that run a browser, WebRTC or speech recognition in real time: they run one file at a time,
 * after the rest, so a real-time test never shares the two cores of a small CI machine with another
 * test file.
 */
const LIVE = ['test/e2e/**', 'test/browser/**', 'test/audio/**'];
/**
 * Files that run the `colloquy` command, its workers and cluster nodes as child processes (with
 * their own Redis and PostgreSQL): mostly waiting on other processes, so they run beside the unit
 * files instead of after everything.
 */
const PROCESSES = ['test/cli/**', 'test/cluster/**'];
/**
 * Unit files that assert process-wide state: which diagnostics channels have subscribers, the
 * process metrics, the global tracer. A server started by another file in the same process enables
 * the process metrics for good, so these run in a process of their own (project `unit:isolated`).
 */
const PROCESS_STATE = ['src/diagnostics.test.ts', 'src/observability/*.test.ts'];

export default defineConfig({
  // Tests import the package by name from source (the `colloquy-source` export condition).
  resolve: { conditions: ['colloquy-source'] },
  ssr: { resolve: { conditions: ['colloquy-source'] } },
  test: {
    // Builds dist/ when a source is newer (tests that run the package as users do need it).
    globalSetup: ['test/support/build-once.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The slowest files start first, also on a clean clone without Vitest's timings of a last run.
    sequence: { sequencer: SlowFirstSequencer },
    // Real-time tests (a browser, WebRTC, speech recognised as it plays) share two cores with the
    // rest of the suite; one retry absorbs a scheduling stall. A test that fails twice fails the run,
    // and the report names every test that needed its retry. Mutation runs use their own config
    // (vitest.stryker.config.ts) without retries.
    retry: 1,
    // The default report, plus the error of every attempt that was retried (the default drops it).
    reporters: ['default', './test/support/retry-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Each worker keeps its module graph from one file to the next instead of importing the
          // sources again for every file (a new process per file): the imports were 155 s of a 304 s
          // group at load average 17, 57 s of 201 s without. Mutation runs already run these tests
          // so (vitest.stryker.config.ts); a file restores what it stubs, its timers and environment.
          isolate: false,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...LIVE, ...PROCESSES, ...PROCESS_STATE, '**/node_modules/**'],
          // The type tests only: tsc over tsconfig.typecheck.json (those files and what they import),
          // not the whole project. Vitest runs the type check after every other group, so a check of
          // all of src, test and bench (`tsc --noEmit -p .`, which `.ci/run` runs before `npm test`)
          // came again at the end of the run: about 70 s of its time.
          typecheck: {
            enabled: true,
            include: ['src/**/*.test-d.ts'],
            tsconfig: './tsconfig.typecheck.json',
          },
          // Unit, fuzz, package and docs tests, and the child-process files (the next project, same
          // group): three files at a time in all.
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'unit:isolated',
          include: PROCESS_STATE,
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESSES.map((glob) => `${glob}/*.test.ts`),
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'live',
          include: LIVE.map((glob) => `${glob}/*.test.ts`),
          maxWorkers: 1,
          // One process runs them all, one after the other, without a fresh module graph per file:
          // each file loading the server, the models and playwright again cost seconds of this
          // group's sequential time. Every file starts and stops its own servers and browser and
          // unstubs what it stubs; nothing of one file's state is asserted by another.
          isolate: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
