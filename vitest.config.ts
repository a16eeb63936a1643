import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Tests import the package by name from source (the `colloquy-source` export condition).
  resolve: { conditions: ['colloquy-source'] },
  ssr: { resolve: { conditions: ['colloquy-source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds dist/ when a source is newer (tests that run the package as users do need it).
    globalSetup: ['test/support/build-once.ts'],
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Real-time tests (a browser, WebRTC, speech recognised as it plays) share two cores with the
    // rest of the suite; one retry absorbs a scheduling stall. A test that fails twice fails the run,
    // and the report names every test that needed its retry. Mutation runs use their own config
    // (vitest.stryker.config.ts) without retries.
    retry: 1,
  },
});
