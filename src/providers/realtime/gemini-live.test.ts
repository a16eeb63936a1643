import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGeminiLiveServer } from '../../testing/fake-gemini-live-server.ts';
import { RealtimeEventLog } from '../../testing/realtime-events.ts';
import { tone } from '../../testing/signals.ts';
import { MAX_TRANSCRIPT_CHARS } from './base-connection.ts';
import { classifyGeminiClose, GeminiLiveModel, parseDurationMs } from './gemini-live.ts';
import type { RealtimeConnection, RealtimeSessionConfig } from './types.ts';

const config: RealtimeSessionConfig = {
  instructions: 'Be brief.',
  tools: [
    {
      name: 'lookup',
      description: 'Look up',
      parameters: { type: 'object', properties: { q: { type: 'string' } } },
    },
  ],
  voice: 'Puck',
  turnDetection: { type: 'provider' },
};

/** 400 ms of speech then 400 ms of silence at 16 kHz, in 20 ms frames. */
function speak(conn: RealtimeConnection): void {
  const speech = tone({ sampleRate: 16000, samples: 6400 });
  for (let i = 0; i < speech.length; i += 320) conn.sendAudio(speech.subarray(i, i + 320));
  for (let i = 0; i < 20; i++) conn.sendAudio(new Int16Array(320));
}

describe('GeminiLiveModel against the local Gemini Live server', () => {
  let server: FakeGeminiLiveServer;
  let model: GeminiLiveModel;
  let log: RealtimeEventLog;
  let conn: RealtimeConnection | undefined;

  beforeEach(async () => {
    server = await new FakeGeminiLiveServer({ speed: 50 }).listen();
    model = new GeminiLiveModel({
      model: 'gemini-2.5-flash-native-audio-preview-12-2025',
      apiKey: 'test-key',
      url: server.url,
    });
    log = new RealtimeEventLog();
  });
  afterEach(async () => {
    conn?.close();
    await server.close();
  });

  it('sends the setup: model, audio modality, voice, instructions, tools, transcription, resumption, sliding window', async () => {
    conn = await model.connect(config, { onEvent: log.push });
    expect(server.setups[0]).toEqual({
      model: 'models/gemini-2.5-flash-native-audio-preview-12-2025',
      generationConfig: {
        responseModalities: ['AUDIO'],
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } },
      },
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      tools: [
        {
          functionDeclarations: [
            { name: 'lookup', description: 'Look up', parametersJsonSchema: config.tools[0]!.parameters },
          ],
        },
      ],
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
    });
    expect(log.of('ready')[0]).toEqual({ type: 'ready', providerSessionId: 'fake-session-1' });
  });

  it('speech in → user transcript, 24 kHz audio with transcript, usage, turn complete, resumable handle', async () => {
    server.reply({ userTranscript: 'hello there', text: 'Hi, how can I help?', audioMs: 500 });
    conn = await model.connect(config, { onEvent: log.push });
    speak(conn);
    await log.next('resumption');
    expect(
      log
        .of('input-transcript')
        .filter((e) => e.final)
        .map((e) => e.text),
    ).toEqual(['hello there']);
    expect(
      log
        .of('output-transcript')
        .filter((e) => e.final)
        .map((e) => e.text),
    ).toEqual(['Hi, how can I help?']);
    expect(log.audioMs(24000)).toBe(500);
    expect(log.of('response-done')[0]!.status).toBe('completed');
    // A token per four characters: 'Be brief.' + 'hello there' in, 'Hi, how can I help?' out.
    expect(log.of('usage')[0]!.usage).toEqual({ inputTokens: 3 + 3, outputTokens: 5, totalTokens: 11 });
    expect(log.of('resumption')[0]!.handle).toBe('handle-1-1');
    const audio = server
      .messages('realtimeInput')
      .find((m) => (m.realtimeInput as { audio?: unknown }).audio);
    expect((audio!.realtimeInput as { audio: { mimeType: string } }).audio.mimeType).toBe(
      'audio/pcm;rate=16000',
    );
  });

  it('manual mode: automatic activity detection disabled, activityStart / activityEnd drive the turn', async () => {
    server.reply({ text: 'Okay.', audioMs: 200 });
    conn = await model.connect({ ...config, turnDetection: { type: 'manual' } }, { onEvent: log.push });
    expect(server.setups[0]!.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true } });
    conn.startInput();
    conn.sendAudio(tone({ sampleRate: 16000, samples: 3200 }));
    conn.commitInput();
    await log.next('response-done');
    expect(
      server.messages('realtimeInput').filter((m) => 'activityStart' in (m.realtimeInput as object)),
    ).toHaveLength(1);
    expect(
      server.messages('realtimeInput').filter((m) => 'activityEnd' in (m.realtimeInput as object)),
    ).toHaveLength(1);
  });

  it('a tool call: no resumable handle while it is open; toolResponse carries id, name and output', async () => {
    server.reply({ toolCall: { name: 'lookup', args: { q: 'x' } }, text: 'Found it.', audioMs: 200 });
    conn = await model.connect(config, { onEvent: log.push });
    conn.sendText('look it up');
    const call = await log.next('tool-call');
    expect(call).toMatchObject({ name: 'lookup', argumentsJson: '{"q":"x"}' });
    expect(log.of('resumption')).toHaveLength(0);
    conn.sendToolResult(call.callId, 'lookup', { output: { answer: 42 } });
    await log.next('resumption');
    expect(server.messages('toolResponse')[0]).toEqual({
      toolResponse: {
        functionResponses: [{ id: call.callId, name: 'lookup', response: { output: { answer: 42 } } }],
      },
    });
    expect(
      log
        .of('output-transcript')
        .filter((e) => e.final)
        .map((e) => e.text),
    ).toEqual(['Found it.']);
  });

  it('speaking over the model: interrupted, then the turn completes as interrupted', async () => {
    server.reply({ text: 'A very long answer that goes on and on.', audioMs: 4000 });
    const slow = await new FakeGeminiLiveServer({
      speed: 4,
      replies: [{ text: 'A long answer that goes on.', audioMs: 4000 }],
    }).listen();
    const m = new GeminiLiveModel({ model: 'gemini-live', apiKey: 'test-key', url: slow.url });
    conn = await m.connect(config, { onEvent: log.push });
    conn.sendText('talk');
    await log.next('audio');
    speak(conn);
    await log.next('interrupted');
    const done = await log.next('response-done');
    expect(done.status).toBe('interrupted');
    expect(log.audioMs(24000)).toBeLessThan(4000);
    conn.close();
    await slow.close();
  });

  it('goAway reports the time left; a resumed setup continues the conversation; an expired handle is refused', async () => {
    server.reply({ text: 'First.', audioMs: 200 });
    conn = await model.connect(config, { onEvent: log.push });
    conn.sendText('one');
    const { handle } = await log.next('resumption');
    server.goAway(50_000);
    expect((await log.next('goaway')).timeLeftMs).toBe(50_000);
    conn.close();
    const log2 = new RealtimeEventLog();
    conn = await model.connect({ ...config, resumeHandle: handle }, { onEvent: log2.push });
    expect(server.setups[1]!.sessionResumption).toEqual({ handle });
    expect(server.conversationTurns).toEqual(['user: one', 'model: First.']);
    conn.close();
    server.expireHandles();
    await expect(
      model.connect({ ...config, resumeHandle: handle }, { onEvent: () => {} }),
    ).rejects.toMatchObject({
      code: 'realtime_closed',
      retryable: false,
    });
  });

  it('malformed and unknown messages are harmless; close codes are classified', async () => {
    conn = await model.connect(config, { onEvent: log.push });
    server.sendRaw('{{{');
    server.sendRaw('{"somethingNew":{}}');
    server.sendRaw('{"toolCall":{"functionCalls":[{"args":{}}]}}');
    await log.next('error', (e) => e.error.code === 'realtime_bad_message');
    expect(log.of('error').map((e) => [e.error.code, e.severity])).toEqual([
      ['realtime_malformed_message', 'harmless'],
      ['realtime_bad_message', 'harmless'],
    ]);
    expect(classifyGeminiClose(1011)).toBe('retryable');
    expect(classifyGeminiClose(1008)).toBe('fatal');
    expect(parseDurationMs('50s')).toBe(50_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('soon')).toBeUndefined();
  });

  it('transcripts of a turn that never ends are bounded (MAX_TRANSCRIPT_CHARS), not grown without end', async () => {
    conn = await model.connect(config, { onEvent: log.push });
    const piece = 'la '.repeat(1000); // 3 000 characters per message, 30 000 in all
    for (let i = 0; i < 10; i++) {
      server.sendRaw(JSON.stringify({ serverContent: { inputTranscription: { text: piece } } }));
    }
    for (let i = 0; i < 10; i++) {
      server.sendRaw(
        JSON.stringify({
          serverContent: {
            modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: 'AAAA' } }] },
            outputTranscription: { text: piece },
          },
        }),
      );
    }
    server.sendRaw(JSON.stringify({ serverContent: { turnComplete: true } }));
    await log.next('response-done');
    const input = log.of('input-transcript').filter((e) => e.final);
    expect(input.map((e) => e.text.length)).toEqual([MAX_TRANSCRIPT_CHARS]);
    const output = log.of('output-transcript').filter((e) => e.final);
    expect(output.map((e) => e.text.length)).toEqual([MAX_TRANSCRIPT_CHARS]);
  });

  it('a wrong key is refused as fatal', async () => {
    const bad = new GeminiLiveModel({ model: 'x', apiKey: 'nope', url: server.url });
    await expect(bad.connect(config, { onEvent: () => {} })).rejects.toMatchObject({ severity: 'fatal' });
  });
});
