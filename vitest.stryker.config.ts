import { defineConfig } from 'vitest/config';

/**
 * Tests outside a folder that exercise it, run with that folder's own tests in a folder run. Most of
 * `src/surfaces/voice-agent` (VoiceAgent, VideoAgent, resume, the socket link) is tested in
 * `test/voice-agent/` over real sockets on loopback, with mock models: fast, no browser, no real-time
 * audio. Browser and real-time tests (`test/e2e`, `test/browser`, `test/audio`) are not listed: a
 * mutant runs every test that covers it, and a browser test per mutant is seconds to minutes on a small
 * machine, where a starved real-time test fails (or times out) without the mutant being detected.
 */
export const FOLDER_TESTS: Readonly<Record<string, readonly string[]>> = {
  surfaces: ['test/voice-agent/**/*.test.ts', 'test/fuzz/native-resume-subagent.test.ts'],
  // Sessions driven from elsewhere with mock models: memory and subagents (src/agents), VoiceAgent over
  // loopback sockets (realtime included, against the fake provider servers), tools that run in a
  // session, recording, diagnostics and tracing. Each test well under a second on a quiet machine.
  session: [
    'src/agents/**/*.test.ts',
    'test/voice-agent/**/*.test.ts',
    'src/tools/declarative/declarative.test.ts',
    'src/tools/declarative/tool-settings.test.ts',
    'src/store/store-recorder.test.ts',
    'src/diagnostics.test.ts',
    'src/observability/tracing.test.ts',
    'src/pipeline/turn-taking/user-mute.test.ts',
    'src/providers/scripted/scripted-model.test.ts',
  ],
  // `src/pipeline` through a session: spoken turns (VAD, endpointing, STT utterances, user input) and
  // speech (TTS requests, failures, encoded and realtime audio) over the native protocol on loopback,
  // the turn runner's spoken turns, TTS/STT failures. `src/session/voice-audio.test.ts` and
  // `voice-speak.test.ts` are left out: they play paced audio in real time.
  pipeline: [
    'test/voice-agent/**/*.test.ts',
    'src/session/turn-runner.test.ts',
    'src/session/provider-failures.test.ts',
  ],
  // The server over HTTP and WebSocket on loopback (raw clients, mock or scripted models, SQLite in a
  // temp dir), each test a second or less on a quiet machine. Left out: files whose tests wait for
  // speech played out in real time (transport-lost, queue-bounds, server-bad-input: what was heard of an
  // answer cut by a dropped socket failed the initial test run at load average 15), take seconds (fairness, hostile-json's
  // deep-JSON flood, the LiveKit signalling fuzz) or pass the 5 s limit of a mutant run under load
  // (server-compaction, server-restart-resume).
  server: [
    'test/e2e/server-http.test.ts',
    'test/e2e/server-store.test.ts',
    'test/e2e/server-resume.test.ts',
    'test/e2e/server-restart-pending.test.ts',
    'test/e2e/server-trust.test.ts',
    'test/e2e/connect-hook.test.ts',
    'test/e2e/client-limits.test.ts',
    'test/fuzz/data-api.test.ts',
    'test/fuzz/rtvi-subagent-answers.test.ts',
  ],
};

// Mutation testing (npm run mutate): the unit tests beside the sources, without building dist/.
// With MUTATE_FOLDER set (see stryker.config.mjs) only that folder's own tests run, and the tests of
// FOLDER_TESTS that exercise it, so its score is what those tests catch: a lower bound of the whole
// suite's, and a run short enough for a laptop.
const folder = process.env.MUTATE_FOLDER;
const include =
  folder === undefined
    ? ['src/**/*.test.ts', ...Object.values(FOLDER_TESTS).flat()]
    : [`src/${folder}/**/*.test.ts`, ...(FOLDER_TESTS[folder] ?? [])];
// Stryker's Vitest runner starts Vitest with `pool: 'threads'` whatever the config says, and the WebRTC
// addon (@roamhq/wrtc) aborts the whole runner process when it runs in a worker thread ("Cannot create
// a handle without a HandleScope", SIGABRT after the initial test run). A server run (MUTATE_FOLDER=server,
// or every folder) puts its test files back in child processes, where the addon works as in the normal
// suite, so the SmallWebRTC and LiveKit route tests (`src/server/webrtc*`, `src/server/livekit*`) and
// the server tests of FOLDER_TESTS that load it take part. Other folder runs keep Stryker's threads.
const forks = folder === undefined || folder === 'server';
export default defineConfig({
  plugins: forks
    ? [
        {
          name: 'colloquy-stryker-forks',
          configureVitest({ project }) {
            project.config.pool = 'forks';
          },
        },
      ]
    : [],
  resolve: { conditions: ['colloquy-source'] },
  ssr: { resolve: { conditions: ['colloquy-source'] } },
  test: {
    include,
    // Tests that load native addons (WebRTC, onnxruntime) crash in Stryker's worker threads (see `forks`).
    exclude: [
      'src/transports/**',
      'src/providers/local/**',
      ...(forks ? [] : ['src/server/livekit*', 'src/server/webrtc*']),
      'src/testing/conformance.test.ts',
      '**/node_modules/**',
    ],
    // A unit test here runs in milliseconds. A mutant that makes one hang (an awaited event that never
    // comes) then fails inside Vitest at 5 s and counts as killed, instead of hitting Stryker's own
    // timeout, which restarts the test runner (a minute on a loaded machine, per mutant).
    testTimeout: 5_000,
    hookTimeout: 10_000,
    // Except in Stryker's initial test run: a minute per test (cold imports under load).
    setupFiles: ['test/support/stryker-timeouts.ts'],
    pool: 'forks',
    // Stryker switches a mutant on at run time, so the sources need not be imported again for every
    // mutant (what most of a mutant's run cost: seconds of imports for milliseconds of tests). A mutant
    // that acts only while a module loads (a "static" mutant) would then never run: stryker.config.mjs
    // sets ignoreStatic, and the report lists those as ignored (not in the score).
    isolate: false,
    // `npm run mutate:coverage` (with MUTATE_FOLDER): the lines and branches of the folder that its test
    // list never runs. Every mutant there is one Stryker reports as "no coverage", found in a minute
    // instead of a mutation run; a covered line can still hold survivors (run, but not checked).
    coverage: {
      provider: 'v8',
      include: folder === undefined ? ['src/*/**/*.ts'] : [`src/${folder}/**/*.ts`],
      exclude: ['**/*.test.ts', '**/*.test-d.ts', '**/index.ts', 'src/server/playground/page/**'],
      reporter: ['text'],
      reportsDirectory: `reports/coverage/${folder ?? 'all'}`,
    },
  },
});
