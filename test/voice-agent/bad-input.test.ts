import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import {
  heldTranscriptionModel,
  type MessageLog,
  mockTranscriptionModel,
  openClient,
  type Recorded,
  recordEvents,
  startServer,
  until,
} from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: Partial<ConstructorParameters<typeof VoiceAgent>[0]> = {}) {
  const agent = new VoiceAgent({
    model: mockLanguageModel(['Fine.']),
    transcriptionModel: mockTranscriptionModel(['words']).model,
    maxAudioInputSize: 1000,
    logger: silentLogger,
    ...options,
  });
  const events = recordEvents(agent);
  const server = await startServer((socket) => agent.handleSocket(socket));
  const log = await openClient(server.url);
  cleanups.push(
    () => log.socket.terminate(),
    () => agent.destroy(),
    () => server.close(),
  );
  await until(() => agent.connected);
  return { agent, events, log };
}

const named = (events: Recorded[], name: 'error' | 'warning') =>
  events.filter((e) => e.name === name).map((e) => e.args[0]);

/** Sends `raw`, waits for the error reply, and checks the event side. */
async function rejects(
  s: { log: MessageLog; events: Recorded[] },
  raw: string | Uint8Array,
  code: string,
  kind: 'error' | 'warning',
) {
  const before = s.log.of('error').length;
  const eventsBefore = named(s.events, kind).length;
  s.log.socket.send(raw);
  await until(() => s.log.of('error').length > before);
  const reply = s.log.of('error')[before]!;
  expect(reply).toMatchObject({ type: 'error', code });
  expect(String(reply.error).length).toBeGreaterThan(5);
  const event = named(s.events, kind)[eventsBefore];
  if (kind === 'error') {
    expect(event).toBeInstanceOf(Error);
    expect((event as Error & { code: string }).code).toBe(code);
  } else {
    expect(typeof event).toBe('string');
    expect(event).toBe(reply.error);
  }
  return reply;
}

describe('bad client input: error/warning event + error message; socket stays open; history untouched', () => {
  it('rejects malformed, unknown, incomplete and invalid messages', async () => {
    const s = await setup();
    await rejects(s, '{not json', 'malformed_json', 'error');
    await rejects(s, '[1,2]', 'invalid_message', 'error');
    const unknown = await rejects(s, '{"type":"dance"}', 'unknown_message_type', 'error');
    expect(unknown.messageType).toBe('dance');
    const missing = await rejects(s, '{"type":"transcript"}', 'missing_field', 'error');
    expect(missing.error).toMatch(/text/);
    // Invalid audio messages are warnings (seed 001 "Common warnings: Invalid audio message").
    await rejects(s, '{"type":"audio","data":"!!!not base64!!!"}', 'invalid_base64', 'warning');
    await rejects(s, '{"type":"audio"}', 'missing_field', 'warning');
    await rejects(s, '{"type":"audio","data":42}', 'invalid_field', 'warning');
    const big = Buffer.alloc(2000, 1).toString('base64');
    const tooLarge = await rejects(
      s,
      JSON.stringify({ type: 'audio', data: big }),
      'audio_too_large',
      'error',
    );
    expect(tooLarge.error).toMatch(/1000/);
    await rejects(s, '{"type":"transcript","text":"   "}', 'empty_text', 'warning');
    await rejects(s, '{"type":"audio","data":""}', 'empty_audio', 'warning');
    await rejects(s, '{"type":"interrupt","reason":42}', 'invalid_field', 'error');
    const video = await rejects(
      s,
      JSON.stringify({
        type: 'video_frame',
        sequence: 1,
        timestamp: 1,
        triggerReason: 'timer',
        image: { data: 'AAAA', format: 'png', width: 1, height: 1 },
      }),
      'unsupported_message',
      'error',
    );
    expect(video).toMatchObject({
      error: 'This agent takes no video; use a VideoAgent',
      messageType: 'video_frame',
    });
    await rejects(s, new Uint8Array([1, 2, 3, 4]), 'audio_not_configured', 'error');
    expect(s.agent.getHistory()).toEqual([]);
    // The socket is still open and the agent still answers.
    s.log.send({ type: 'transcript', text: 'still there?' });
    await s.log.waitFor('response_complete');
    expect(s.agent.getHistory().map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('rejects bad binary frames after audio_config', async () => {
    const s = await setup();
    s.log.send({ type: 'audio_config', sampleRate: 16000, channels: 2, vad: false });
    await s.log.waitFor('audio_config_ack');
    const odd = await rejects(s, new Uint8Array([1, 2, 3, 4, 5, 6]), 'invalid_audio_frame', 'error');
    expect(odd.messageType).toBe('binary');
    await rejects(s, new Uint8Array(256 * 1024 + 4), 'invalid_audio_frame', 'error');
    // Push-to-talk audio past maxAudioInputSize is dropped.
    await rejects(s, new Uint8Array(2400), 'audio_too_large', 'error'); // 1200 bytes once mono
    await rejects(s, '{"type":"audio_config","sampleRate":12345}', 'invalid_field', 'error');
  });

  it('no transcription model: audio and audio_config are refused', async () => {
    const s = await setup({ transcriptionModel: undefined });
    await rejects(s, JSON.stringify({ type: 'audio', data: 'AAAA' }), 'no_transcription_model', 'error');
    await rejects(s, '{"type":"audio_config","sampleRate":16000}', 'no_transcription_model', 'error');
  });

  it('a transcript refused by a full input queue is named in the error: messageType transcript', async () => {
    const s = await setup({ maxQueuedInputs: 1 });
    // Two transcripts handed over as the link does for two messages of one read: the first waits in
    // the queue (it starts once the queue is drained, a microtask later), the second finds it full.
    s.agent.clientTranscript('first');
    s.agent.clientTranscript('second');
    await until(() => s.log.of('error').length > 0);
    expect(s.log.of('error')).toEqual([
      {
        type: 'error',
        error: 'Too many inputs waiting (limit 1); this one was dropped',
        code: 'input_queue_full',
        retryable: true,
        messageType: 'transcript',
      },
    ]);
    await until(() => s.log.of('response_complete').length === 1);
    expect(s.agent.getHistory().map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('a flood of inputs is bounded: with one running, exactly maxQueuedInputs wait and the rest are dropped with a warning', async () => {
    // The first transcription holds until the test lets it go, so the queue's state is known.
    const { model: stt, release, started } = heldTranscriptionModel();
    const s = await setup({ transcriptionModel: stt, maxQueuedInputs: 2 });
    const send = (i: number) =>
      s.log.send({ type: 'audio', data: Buffer.from(`rec ${i}`).toString('base64') });
    send(0);
    await until(() => started() === 1);
    for (let i = 1; i < 10; i++) send(i);
    // 1 running + 2 waiting are kept: inputs 3..9 are dropped, each with its own error reply.
    await until(() => s.log.of('error').length >= 7);
    release();
    await until(() => s.log.of('transcription_result').length === 3, 8000);
    expect(s.log.of('error')).toHaveLength(7);
    expect(s.log.of('error').every((m) => m.code === 'input_queue_full' && m.retryable === true)).toBe(true);
    expect(s.log.of('error')[0]).toMatchObject({
      error: 'Too many inputs waiting (limit 2); this one was dropped',
    });
    expect(named(s.events, 'warning')).toHaveLength(7);
    expect(named(s.events, 'error')).toHaveLength(0);
    expect(started()).toBe(3);
    expect(s.log.socket.readyState).toBe(s.log.socket.OPEN);
  });
});
