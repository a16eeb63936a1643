import { defineConfig } from 'vitest/config';

/**
 * Files that run a server, a browser, WebRTC or speech recognition in real time, or start child
 * processes and databases: they run one file at a time, after the rest, so a real-time test never
 * shares the two cores of a small CI machine with another test file.
 */
const LIVE = ['test/e2e/**', 'test/cli/**', 'test/cluster/**', 'test/browser/**', 'test/audio/**'];

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
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...LIVE, '**/node_modules/**'],
          typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] },
          // Unit, fuzz, package and docs tests: two files at a time.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'live',
          include: LIVE.map((glob) => `${glob}/*.test.ts`),
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
