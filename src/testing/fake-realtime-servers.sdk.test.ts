/**
 * Keeps the fake provider servers honest: the providers' official SDKs (`openai`'s
 * `OpenAIRealtimeWS`, `@google/genai`'s `live.connect`) talk to them as clients, and every event name
 * the fakes send is one the SDKs' types know (a renamed event fails to compile here).
 */
import { connect as netConnect } from 'node:net';
import { GoogleGenAI, type LiveServerMessage, Modality } from '@google/genai';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGeminiLiveServer } from './fake-gemini-live-server.ts';
import { FakeOpenAIRealtimeServer } from './fake-openai-realtime-server.ts';
import { tone } from './signals.ts';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('FakeOpenAIRealtimeServer with the official openai SDK (OpenAIRealtimeWS)', () => {
  it('session.update → session.updated, a text turn → audio + transcript deltas + response.done, a tool round trip', async () => {
    const server = await new FakeOpenAIRealtimeServer({
      speed: 50,
      replies: [{ toolCall: { name: 'lookup', args: { q: 'x' } }, text: 'Found it for you.', audioMs: 300 }],
    }).listen();
    servers.push(server);
    const port = Number(new URL(server.url).port);
    const client = new OpenAI({ apiKey: server.apiKey, baseURL: `http://127.0.0.1:${port}/v1` });
    // The SDK always dials wss://; the fake is plain TCP on loopback.
    const rt = new OpenAIRealtimeWS(
      { model: 'gpt-realtime', options: { createConnection: () => netConnect({ host: '127.0.0.1', port }) } },
      client,
    );
    const seen: string[] = [];
    let audioBytes = 0;
    let transcript = '';
    let wake: (() => void) | undefined;
    const count = (type: string) => seen.filter((t) => t === type).length;
    const waitCount = async (type: string, n: number) => {
      while (count(type) < n) await new Promise<void>((r) => (wake = r));
    };
    rt.on('event', (e) => {
      seen.push(e.type);
      wake?.();
    });
    rt.on('response.output_audio.delta', (e) => {
      audioBytes += Buffer.from(e.delta, 'base64').length;
    });
    rt.on('response.output_audio_transcript.done', (e) => {
      transcript = e.transcript;
    });
    const errors: unknown[] = [];
    rt.on('error', (e) => errors.push(e));
    await new Promise<void>((resolve) => rt.socket.once('open', () => resolve()));
    rt.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        instructions: 'hi',
        audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: null } },
        tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' } }],
      },
    });
    await waitCount('session.updated', 1);
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'find x' }] },
    });
    rt.send({ type: 'response.create' });
    let call: { call_id?: string; name?: string } = {};
    rt.on('response.output_item.done', (e) => {
      if (e.item.type === 'function_call') call = e.item;
    });
    await waitCount('response.done', 1);
    expect(call.name).toBe('lookup');
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: call.call_id!, output: '{"ok":true}' },
    });
    rt.send({ type: 'response.create' });
    await waitCount('response.done', 2);
    rt.send({
      type: 'input_audio_buffer.append',
      audio: Buffer.from(tone({ sampleRate: 24000, samples: 480 }).buffer).toString('base64'),
    });
    rt.close();
    expect(transcript).toBe('Found it for you.');
    expect(audioBytes).toBe(24000 * 0.3 * 2);
    expect(errors).toEqual([]);
    expect(seen).toEqual(
      expect.arrayContaining([
        'session.created',
        'session.updated',
        'conversation.item.added',
        'response.created',
        'response.function_call_arguments.done',
        'response.output_item.added',
        'response.output_audio.delta',
        'response.output_audio_transcript.delta',
        'response.output_audio.done',
        'response.done',
      ]),
    );
  });
});

describe('FakeGeminiLiveServer with the official @google/genai SDK (live.connect)', () => {
  it('setup → setupComplete, a text turn → audio + transcription + turnComplete + resumable handle, a tool call', async () => {
    const server = await new FakeGeminiLiveServer({
      speed: 50,
      replies: [
        { text: 'Hello there.', audioMs: 300 },
        { toolCall: { name: 'lookup', args: { q: 'x' } }, text: 'Done.', audioMs: 200 },
      ],
    }).listen();
    servers.push(server);
    const ai = new GoogleGenAI({ apiKey: server.apiKey, httpOptions: { baseUrl: server.httpBaseUrl } });
    const messages: LiveServerMessage[] = [];
    let wake: (() => void) | undefined;
    const waitFor = async (test: (m: LiveServerMessage) => boolean) => {
      while (!messages.some(test)) await new Promise<void>((r) => (wake = r));
    };
    const session = await ai.live.connect({
      model: 'gemini-2.5-flash-native-audio-preview-12-2025',
      config: {
        responseModalities: [Modality.AUDIO],
        systemInstruction: 'Be brief.',
        inputAudioTranscription: {},
        outputAudioTranscription: {},
        sessionResumption: {},
        contextWindowCompression: { slidingWindow: {} },
        tools: [{ functionDeclarations: [{ name: 'lookup', parametersJsonSchema: { type: 'object' } }] }],
      },
      callbacks: {
        onmessage: (m) => {
          messages.push(m);
          wake?.();
        },
      },
    });
    session.sendClientContent({ turns: 'hello', turnComplete: true });
    await waitFor((m) => m.sessionResumptionUpdate?.resumable === true);
    const audio = messages.flatMap((m) => (m.data ? [Buffer.from(m.data, 'base64').length] : []));
    expect(audio.reduce((a, b) => a + b, 0)).toBe(24000 * 0.3 * 2);
    expect(messages.map((m) => m.serverContent?.outputTranscription?.text ?? '').join('')).toBe(
      'Hello there.',
    );
    expect(messages.some((m) => m.serverContent?.turnComplete)).toBe(true);
    session.sendRealtimeInput({
      audio: {
        data: Buffer.from(new Int16Array(320).buffer).toString('base64'),
        mimeType: 'audio/pcm;rate=16000',
      },
    });
    session.sendClientContent({ turns: 'look it up', turnComplete: true });
    await waitFor((m) => m.toolCall !== undefined);
    const call = messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0]!;
    expect(call).toMatchObject({ name: 'lookup', args: { q: 'x' } });
    session.sendToolResponse({
      functionResponses: [{ id: call.id!, name: 'lookup', response: { output: 'ok' } }],
    });
    await waitFor((m) => m.serverContent?.outputTranscription?.text === 'Done.');
    session.close();
    expect(server.setups[0]).toMatchObject({
      model: 'models/gemini-2.5-flash-native-audio-preview-12-2025',
      generationConfig: { responseModalities: ['AUDIO'] },
      inputAudioTranscription: {},
      sessionResumption: {},
    });
  });
});
