import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIRealtimeServer } from '../../testing/fake-openai-realtime-server.ts';
import { RealtimeEventLog } from '../../testing/realtime-events.ts';
import { tone } from '../../testing/signals.ts';
import { classifyOpenAIError } from './openai-protocol.ts';
import { OpenAIRealtimeModel } from './openai-realtime.ts';
import type { RealtimeConnection, RealtimeSessionConfig } from './types.ts';

const config: RealtimeSessionConfig = {
  instructions: 'Be brief.',
  tools: [
    {
      name: 'get_weather',
      description: 'Weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
    },
  ],
  voice: 'cedar',
  turnDetection: { type: 'provider' },
};

/** 400 ms of speech then 400 ms of silence at 24 kHz, in 20 ms frames. */
function speak(conn: RealtimeConnection): void {
  const frame = 480;
  const speech = tone({ sampleRate: 24000, samples: 24000 * 0.4 });
  for (let i = 0; i < speech.length; i += frame) conn.sendAudio(speech.subarray(i, i + frame));
  for (let i = 0; i < 20; i++) conn.sendAudio(new Int16Array(frame));
}

describe('OpenAIRealtimeModel against the local OpenAI Realtime server', () => {
  let server: FakeOpenAIRealtimeServer;
  let model: OpenAIRealtimeModel;
  let log: RealtimeEventLog;
  let conn: RealtimeConnection | undefined;

  beforeEach(async () => {
    server = await new FakeOpenAIRealtimeServer({ speed: 50 }).listen();
    model = new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: 'test-key', url: server.url });
    log = new RealtimeEventLog();
  });
  afterEach(async () => {
    conn?.close();
    await server.close();
  });

  it('configures the GA session: realtime type, 24 kHz PCM, server VAD, transcription, flat function tools', async () => {
    conn = await model.connect(config, { onEvent: log.push });
    const update = server.messages('session.update')[0]!;
    expect(update.session).toEqual({
      type: 'realtime',
      instructions: 'Be brief.',
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          turn_detection: { type: 'server_vad', create_response: true, interrupt_response: true },
          transcription: { model: 'gpt-4o-mini-transcribe' },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'cedar' },
      },
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather',
          parameters: config.tools[0]!.parameters,
        },
      ],
      tool_choice: 'auto',
    });
    expect(log.of('ready')).toHaveLength(1);
  });

  it('speech in → speech events, user transcript, audio and transcript out, usage, response done', async () => {
    server.reply({ userTranscript: 'what time is it', text: 'It is noon.', audioMs: 600 });
    conn = await model.connect(config, { onEvent: log.push });
    speak(conn);
    const done = await log.next('response-done');
    expect(done.status).toBe('completed');
    const types = log.events
      .map((e) => e.type)
      .filter((t) => t !== 'audio' && t !== 'output-transcript' && t !== 'input-transcript');
    expect(types).toEqual([
      'ready',
      'speech-started',
      'speech-stopped',
      'response-started',
      'usage',
      'response-done',
    ]);
    expect(
      log
        .of('input-transcript')
        .filter((e) => e.final)
        .map((e) => e.text),
    ).toEqual(['what time is it']);
    expect(
      log
        .of('input-transcript')
        .filter((e) => !e.final)
        .map((e) => e.text)
        .join(''),
    ).toBe('what time is it');
    expect(
      log
        .of('output-transcript')
        .filter((e) => e.final)
        .map((e) => e.text),
    ).toEqual(['It is noon.']);
    expect(log.audioMs(24000)).toBe(600);
    expect(log.of('usage')[0]!.usage).toEqual({
      // The fake counts a token per four characters: 'Be brief.' + 'what time is it' in, 'It is noon.' out.
      inputTokens: 3 + 4,
      outputTokens: 3,
      totalTokens: 10,
      inputAudioTokens: 0,
      cachedTokens: 0,
      outputAudioTokens: 0,
    });
  });

  it('manual turn detection: turn_detection null, commit + response.create answer', async () => {
    server.reply({ text: 'Yes.', audioMs: 200 });
    conn = await model.connect({ ...config, turnDetection: { type: 'manual' } }, { onEvent: log.push });
    expect(
      (server.messages('session.update')[0]!.session as { audio: { input: { turn_detection: unknown } } })
        .audio.input.turn_detection,
    ).toBeNull();
    conn.sendAudio(tone({ sampleRate: 24000, samples: 4800 }));
    conn.commitInput();
    await log.next('response-done');
    expect(server.messages('input_audio_buffer.commit')).toHaveLength(1);
    expect(server.messages('response.create')).toHaveLength(1);
    expect(log.of('speech-started')).toHaveLength(0);
  });

  it('a tool call round trip: call → function_call_output + one response.create → the answer', async () => {
    server.reply({
      userTranscript: 'weather?',
      toolCall: { name: 'get_weather', args: { city: 'Paris' } },
      text: 'Sunny in Paris.',
      audioMs: 300,
    });
    conn = await model.connect(config, { onEvent: log.push });
    speak(conn);
    const call = await log.next('tool-call');
    expect(call).toMatchObject({ name: 'get_weather', argumentsJson: '{"city":"Paris"}' });
    await log.next('response-done');
    conn.sendToolResult(call.callId, call.name, { output: { sky: 'sunny' } });
    await log.next('output-transcript', (e) => e.final);
    const out = server
      .messages('conversation.item.create')
      .find((m) => (m.item as { type: string }).type === 'function_call_output');
    expect(out?.item).toEqual({
      type: 'function_call_output',
      call_id: call.callId,
      output: '{"sky":"sunny"}',
    });
    expect(server.messages('response.create')).toHaveLength(1);
  });

  it('truncates at the heard position, deletes an item nobody heard, floors to whole ms', async () => {
    server.reply({ text: 'A long answer.', audioMs: 1000 }, { text: 'Another.', audioMs: 300 });
    conn = await model.connect(config, { onEvent: log.push });
    conn.sendText('hello');
    const audio = await log.next('audio');
    await log.next('response-done');
    conn.truncate(audio.itemId, 412.7);
    await server.waitFor('conversation.item.truncate');
    conn.sendText('again');
    const second = await log.next('audio', (e) => e.itemId !== audio.itemId);
    await log.next('response-done', () => true, log.events.indexOf(second));
    conn.truncate(second.itemId, 0);
    await server.waitFor('conversation.item.delete');
    expect(server.messages('conversation.item.truncate')[0]).toMatchObject({
      item_id: audio.itemId,
      content_index: 0,
      audio_end_ms: 412,
    });
    await expect
      .poll(() => server.truncations)
      .toEqual([{ itemId: audio.itemId, audioEndMs: 412, sentMs: 1000 }]);
    await expect.poll(() => server.deletions).toEqual([second.itemId]);
    expect(log.of('error')).toEqual([]);
  });

  it('response.cancel is sent only while a response is active', async () => {
    server.reply({ text: 'One two three four five six.', audioMs: 3000 });
    conn = await model.connect(config, { onEvent: log.push });
    conn.cancelResponse();
    conn.sendText('talk');
    await log.next('audio');
    conn.cancelResponse();
    const done = await log.next('response-done');
    expect(done.status).toBe('cancelled');
    expect(server.messages('response.cancel')).toHaveLength(1);
    expect(log.audioMs(24000)).toBeLessThan(3000);
  });

  it('provider errors are classified from their codes; malformed and unknown messages are harmless', async () => {
    conn = await model.connect(config, { onEvent: log.push });
    server.sendRaw('not json');
    server.sendRaw('{"type":"response.brand_new_event"}');
    server.sendError('conversation_already_has_active_response', 'busy');
    server.sendError('invalid_api_key', 'bad key', 'invalid_request_error');
    await log.next('error', (e) => e.error.details?.providerCode === 'invalid_api_key');
    expect(log.of('error').map((e) => [e.error.code, e.error.details?.providerCode, e.severity])).toEqual([
      ['realtime_malformed_message', undefined, 'harmless'],
      ['realtime_provider_error', 'conversation_already_has_active_response', 'harmless'],
      ['realtime_provider_error', 'invalid_api_key', 'fatal'],
    ]);
    expect(classifyOpenAIError('server_error', undefined)).toBe('retryable');
    expect(classifyOpenAIError('invalid_request_error', 'invalid_value')).toBe('harmless');
  });

  it('a socket closed by the server reports a retryable error then closed; a wrong key is refused as fatal', async () => {
    conn = await model.connect(config, { onEvent: log.push });
    server.closeConnections(1011, 'boom');
    const closed = await log.next('closed');
    expect(closed).toMatchObject({ code: 1011, expected: false });
    expect(log.of('error').at(-1)).toMatchObject({ severity: 'retryable' });
    const bad = new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: 'wrong', url: server.url });
    await expect(bad.connect(config, { onEvent: () => {} })).rejects.toMatchObject({
      code: 'realtime_rejected',
      severity: 'fatal',
    });
  });
});
