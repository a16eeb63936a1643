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
  },
});
