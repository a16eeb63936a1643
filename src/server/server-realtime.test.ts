/**
 * The server's `realtime` settings reach the realtime model of each session: what a server session
 * on `openai-realtime:MODEL` sends in its `session.update` (turn detection) follows the config file's
 * `realtime` section and `COLLOQUY_REALTIME_TURN_DETECTION`. A real server on loopback with a raw
 * RTVI client, and the local fake of OpenAI's Realtime API.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRaw, type RawClient, startTestServer, until } from '../../test/e2e/helpers.ts';
import { FakeOpenAIRealtimeServer } from '../testing/fake-openai-realtime-server.ts';
import type { RunningServer } from './server.ts';

describe('realtime settings of server sessions', () => {
  let fake: FakeOpenAIRealtimeServer;
  const servers: RunningServer[] = [];
  const clients: RawClient[] = [];
  beforeAll(async () => {
    fake = await new FakeOpenAIRealtimeServer({ replies: [] }).listen();
    vi.stubEnv('OPENAI_API_KEY', fake.apiKey);
    vi.stubEnv('COLLOQUY_OPENAI_REALTIME_URL', fake.url);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await fake?.close();
  });

  /** The `turn_detection` of the first `session.update` a session sends on a server started so. */
  const turnDetectionOf = async (realtime: unknown, env: Record<string, string> = {}) => {
    const server = await startTestServer({
      env: { COLLOQUY_VAD: 'energy', ...env },
      file: {
        models: { llm: 'openai-realtime:gpt-realtime' },
        agents: [{ name: 'main', instructions: 'Be brief.' }],
        ...(realtime === undefined ? {} : { realtime }),
      },
    });
    servers.push(server);
    const before = fake.messages('session.update').length;
    const c = await connectRaw(server.url);
    clients.push(c);
    await c.ready();
    const update = await until('session.update', () => fake.messages('session.update')[before]);
    return (update as { session: { audio: { input: { turn_detection: unknown } } } }).session.audio.input
      .turn_detection;
  };

  it.each([
    [
      'the default: the provider detects turns (server VAD)',
      undefined,
      {},
      { type: 'server_vad', create_response: true, interrupt_response: true },
    ],
    [
      "the file's providerTurnDetection",
      { providerTurnDetection: { mode: 'semantic_vad', eagerness: 'low' } },
      {},
      { type: 'semantic_vad', eagerness: 'low', create_response: true, interrupt_response: true },
    ],
    [
      "the file's server VAD silence",
      { providerTurnDetection: { silenceMs: 700 } },
      {},
      { type: 'server_vad', create_response: true, interrupt_response: true, silence_duration_ms: 700 },
    ],
    [
      'COLLOQUY_REALTIME_TURN_DETECTION=local: the server VAD drives the model (none on the provider)',
      { providerTurnDetection: { silenceMs: 700 } },
      { COLLOQUY_REALTIME_TURN_DETECTION: 'local' },
      null,
    ],
  ])('%s', async (_name, realtime, env, expected) => {
    expect(await turnDetectionOf(realtime, env)).toEqual(expected);
  });
});
