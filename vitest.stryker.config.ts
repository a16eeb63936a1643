import { defineConfig } from 'vitest/config';

// Mutation testing (npm run mutate): the unit tests beside the sources, without building dist/.
export default defineConfig({
  resolve: { conditions: ['colloquy-source'] },
  ssr: { resolve: { conditions: ['colloquy-source'] } },
  test: {
    // Unit tests only: tests that load native addons (WebRTC, onnxruntime) crash in Stryker's workers.
    include: ['src/**/*.test.ts'],
    exclude: ['src/transports/**', 'src/providers/local/**', 'src/server/livekit*', 'src/server/webrtc*', 'src/testing/conformance.test.ts', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
