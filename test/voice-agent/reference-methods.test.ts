/**
 * The reference implementation's extra public methods, for code migrating from it: each is thin over
 * what Colloquy has, and behaves as documented in docs/voice-agent.md. Plus the `fastFirstChunk`
 * option.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../src/logger.ts';
import { messageText } from '../../src/session/history.ts';
import { VideoAgent } from '../../src/surfaces/voice-agent/video-agent.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import { defineTool } from '../../src/tools/define-tool.ts';
import { audioFor, mockSpeechModel, mockTranscriptionModel, until } from './helpers.ts';

const agents: VoiceAgent[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.destroy();
});
function make<T extends VoiceAgent>(agent: T): T {
  agents.push(agent);
  return agent;
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe('reference methods on VoiceAgent', () => {
  it('registerTools adds tools the next turn can call', async () => {
    const agent = make(
      new VoiceAgent({
        model: mockLanguageModel([[{ toolCall: { name: 'weather', args: { city: 'Oslo' } } }], 'Cold.']),
        logger: silentLogger,
      }),
    );
    const rec = new EventRecorder(agent.bus);
    agent.registerTools({
      weather: defineTool({
        description: 'Weather',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => `snow in ${city}`,
      }),
    });
    expect(await agent.sendText('weather?')).toBe('Cold.');
    expect(rec.first('tool.result')).toMatchObject({ status: 'success', result: 'snow in Oslo' });
  });

  it('sendAudioBuffer transcribes bytes and answers; setHistory replaces the history', async () => {
    const agent = make(
      new VoiceAgent({
        model: mockLanguageModel(['Hello back.']),
        transcriptionModel: mockTranscriptionModel(['hello']).model,
        logger: silentLogger,
      }),
    );
    expect(await agent.sendAudioBuffer(new Uint8Array([1, 2, 3, 4]))).toBe('Hello back.');
    agent.setHistory([{ role: 'user', content: 'restored' }]);
    expect(agent.getHistory().map((m) => messageText(m))).toEqual(['restored']);
  });

  it('interruptCurrentResponse stops the LLM stream and speech; pendingSpeechChunks counts queued chunks', async () => {
    const speech = mockSpeechModel({ delayFor: () => 200 });
    const agent = make(
      new VoiceAgent({
        model: mockLanguageModel([
          {
            parts: [{ text: 'First sentence here. Second one too. ' }, { delayMs: 2000 }, { text: 'Never.' }],
          },
        ]),
        speechModel: speech.model,
        streamingSpeech: { minChunkSize: 5 },
        logger: silentLogger,
      }),
    );
    const reasons: string[] = [];
    agent.on('speech_interrupted', (e) => reasons.push(e.reason));
    expect(agent.processing).toBe(false);
    const answer = agent.sendText('talk');
    // Queued, its turn not started yet: already processing.
    expect(agent.processing).toBe(true);
    await until(() => agent.pendingSpeechChunks === 2);
    expect(agent.processing).toBe(true);
    agent.interruptCurrentResponse('client_request');
    expect(await answer).toBe('');
    expect(reasons).toEqual(['client_request']);
    expect(agent.pendingSpeechChunks).toBe(0);
    expect(agent.processing).toBe(false);
  });

  it('generateSpeechFromText returns the audio and emits nothing', async () => {
    const agent = make(
      new VoiceAgent({
        model: mockLanguageModel([]),
        speechModel: mockSpeechModel().model,
        logger: silentLogger,
      }),
    );
    const emitted: string[] = [];
    agent.on('audio', () => emitted.push('audio'));
    agent.on('speech_start', () => emitted.push('speech_start'));
    expect(Buffer.from(await agent.generateSpeechFromText('Hi there.'))).toEqual(
      Buffer.from(audioFor('Hi there.')),
    );
    expect(emitted).toEqual([]);
    await expect(agent.generateSpeechFromText('  ')).rejects.toMatchObject({ code: 'empty_text' });
    // A JavaScript caller's non-string gets the same typed refusal, not a TypeError from inside.
    for (const text of [undefined, 42, { text: 'Hi' }]) {
      await expect(agent.generateSpeechFromText(text as never)).rejects.toMatchObject({
        name: 'InvalidInputError',
        code: 'empty_text',
      });
    }
  });

  it('stopListening / startListening mute the streamed microphone and emit stopped / listening', async () => {
    const agent = make(
      new VoiceAgent({
        model: mockLanguageModel([]),
        transcriptionModel: mockTranscriptionModel(['x']).model,
        logger: silentLogger,
      }),
    );
    const rec = new EventRecorder(agent.bus);
    const events: string[] = [];
    agent.on('listening', () => events.push('listening'));
    agent.on('stopped', () => events.push('stopped'));
    agent.stopListening();
    agent.startListening();
    expect(events).toEqual(['stopped', 'listening']);
    expect(rec.types(['user.mute.start', 'user.mute.stop'])).toEqual(['user.mute.start', 'user.mute.stop']);
  });

  it('fastFirstChunk: true (default) sends a short first sentence alone; false merges it up to minChunkSize', async () => {
    const text = 'Hi! This second sentence is long enough to stand alone for sure.';
    const chunks = async (fastFirstChunk?: boolean) => {
      const agent = make(
        new VoiceAgent({
          model: mockLanguageModel([text]),
          speechModel: mockSpeechModel().model,
          streamingSpeech: { minChunkSize: 20, ...(fastFirstChunk === undefined ? {} : { fastFirstChunk }) },
          logger: silentLogger,
        }),
      );
      const queued: string[] = [];
      agent.on('speech_chunk_queued', (c) => queued.push(c.text));
      await agent.sendText('go');
      return queued;
    };
    expect(await chunks()).toEqual(['Hi!', 'This second sentence is long enough to stand alone for sure.']);
    expect(await chunks(false)).toEqual([text]);
  });
});

describe('reference methods on VideoAgent', () => {
  it('sendFrame adds a frame (frame_received) and with a query asks about it; getSessionId', async () => {
    const agent = make(
      new VideoAgent({
        model: mockLanguageModel(['A tiny image.']),
        sessionId: 'vs_1',
        logger: silentLogger,
      }),
    );
    expect(agent.getSessionId()).toBe('vs_1');
    const frames: unknown[] = [];
    agent.on('frame_received', (f) => frames.push(f));
    const texts: unknown[] = [];
    agent.on('text', (t) => texts.push(t));
    expect(await agent.sendFrame(PNG, undefined, { format: 'png' })).toBe('');
    expect(await agent.sendFrame(PNG.toString('base64'), 'what is this?', { format: 'png' })).toBe(
      'A tiny image.',
    );
    expect(frames).toMatchObject([
      {
        sequence: 1,
        triggerReason: 'user_request',
        size: PNG.length,
        dimensions: { width: 640, height: 480 },
      },
      { sequence: 2 },
    ]);
    expect(texts[0]).toEqual({ role: 'user', text: 'what is this?', hasImage: true });
    await expect(agent.sendFrame(PNG, undefined, { format: 'jpeg' })).rejects.toMatchObject({
      code: 'invalid_image',
    });
  });
});
