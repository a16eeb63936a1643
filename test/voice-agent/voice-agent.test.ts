import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../src/logger.ts';
import { messageText } from '../../src/session/history.ts';
import { AgentDestroyedError } from '../../src/surfaces/voice-agent/errors.ts';
import type { AgentEventMap } from '../../src/surfaces/voice-agent/options.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import {
  mockSpeechModel,
  mockTranscriptionModel,
  type Recorded,
  recordEvents,
  sleep,
  textOfAudio,
  until,
} from './helpers.ts';

let agent: VoiceAgent | undefined;
afterEach(() => {
  agent?.destroy();
  agent = undefined;
});

const ANSWER = 'It is sunny in Paris today. Enjoy the warm weather outside!';
const weatherTool = {
  getWeather: tool({
    description: 'Weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, temperature: 21 }),
  }),
};

/** Collapses runs of the same event name: [a, a, b, a] → [a, b, a]. */
const runs = (events: Recorded[]) =>
  events.map((e) => e.name).filter((name, i, all) => i === 0 || all[i - 1] !== name);

describe('VoiceAgent events (seed 001)', () => {
  it('walks the whole Event Timing Diagram in order, with a tool and streamed speech in text order', async () => {
    // The first chunk's speech finishes only after the second's: audio must still leave in text order.
    const speech = mockSpeechModel({
      finishesAfter: (text) =>
        text.startsWith('It is sunny') ? 'Enjoy the warm weather outside!' : undefined,
    });
    const llm = mockLanguageModel([[{ toolCall: { name: 'getWeather', args: { city: 'Paris' } } }], ANSWER]);
    agent = new VoiceAgent({
      model: llm,
      speechModel: speech.model,
      instructions: 'You are a weather assistant.',
      speechInstructions: 'Speak warmly.',
      outputFormat: 'mp3',
      tools: weatherTool,
      streamingSpeech: { minChunkSize: 10, maxChunkSize: 100 },
      logger: silentLogger,
    });
    const events = recordEvents(agent);

    const answer = await agent.sendText('What is the weather in Paris?');

    expect(answer).toBe(ANSWER);
    expect(runs(events)).toEqual([
      'text', // 1. user input
      'chunk:tool_call', // 2. LLM streaming with a tool
      'tool_result',
      'chunk:text_delta',
      'speech_chunk_queued', // 3. speech generation
      'speech_start',
      'chunk:text_delta',
      'speech_chunk_queued',
      'audio_chunk',
      'speech_complete',
      'text', // 4. response complete
    ]);
    const of = <N extends keyof AgentEventMap>(name: N) =>
      events.filter((e) => e.name === name).map((e) => e.args[0] as AgentEventMap[N][0]);
    expect(of('text')).toEqual([
      { role: 'user', text: 'What is the weather in Paris?' },
      { role: 'assistant', text: ANSWER },
    ]);
    expect(of('chunk:tool_call')).toEqual([
      { toolName: 'getWeather', toolCallId: expect.any(String), input: { city: 'Paris' } },
    ]);
    expect(of('tool_result')).toEqual([
      {
        name: 'getWeather',
        toolCallId: of('chunk:tool_call')[0]!.toolCallId,
        result: { city: 'Paris', temperature: 21 },
      },
    ]);
    expect(
      of('chunk:text_delta')
        .map((d) => d.text)
        .join(''),
    ).toBe(ANSWER);
    const queued = of('speech_chunk_queued');
    expect(queued.map((q) => q.text)).toEqual([
      'It is sunny in Paris today.',
      'Enjoy the warm weather outside!',
    ]);
    expect(of('speech_start')).toEqual([{ streaming: true }]);
    expect(of('speech_complete')).toEqual([{ streaming: true }]);
    const chunks = of('audio_chunk');
    expect(chunks.map((c) => [c.chunkId, c.text, c.format])).toEqual(
      queued.map((q) => [q.id, q.text, 'mp3']),
    );
    for (const c of chunks) {
      expect(textOfAudio(c.uint8Array)).toBe(c.text);
      expect(Buffer.from(c.data, 'base64')).toEqual(Buffer.from(c.uint8Array));
    }
    // The second chunk was synthesised first, yet went out second.
    expect(speech.completed).toEqual(['Enjoy the warm weather outside!', 'It is sunny in Paris today.']);
    // The speech model got the agent's settings.
    expect(speech.calls[0]).toMatchObject({
      outputFormat: 'mp3',
      voice: 'alloy',
      instructions: 'Speak warmly.',
    });
    // The model got the instructions and the tool; history holds the whole exchange.
    expect(llm.calls[0]!.prompt[0]).toEqual({ role: 'system', content: 'You are a weather assistant.' });
    expect(agent.getHistory().map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it('queues inputs: sendText calls run one at a time in order and resolve with their answers', async () => {
    agent = new VoiceAgent({
      model: mockLanguageModel(['First answer.', 'Second answer.']),
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    const [a, b] = await Promise.all([agent.sendText('one'), agent.sendText('two')]);
    expect([a, b]).toEqual(['First answer.', 'Second answer.']);
    expect(events.filter((e) => e.name === 'text').map((e) => e.args[0])).toEqual([
      { role: 'user', text: 'one' },
      { role: 'assistant', text: 'First answer.' },
      { role: 'user', text: 'two' },
      { role: 'assistant', text: 'Second answer.' },
    ]);
    await expect(agent.sendText('   ')).rejects.toMatchObject({ code: 'empty_text' });
    // A caller without types (plain JS, a parsed payload) gets the same typed refusal.
    await expect(agent.sendText(42 as never)).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'empty_text',
    });
  });

  it('sendAudio: audio_received → transcription → a turn; transcribeAudio only transcribes', async () => {
    const stt = mockTranscriptionModel(['hello from a recording', 'just transcribe me'], 'en');
    agent = new VoiceAgent({
      model: mockLanguageModel(['Hi there.']),
      transcriptionModel: stt.model,
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    const recording = new Uint8Array([82, 73, 70, 70, 1, 2, 3, 4]);
    const answer = await agent.sendAudio(Buffer.from(recording).toString('base64'));
    expect(answer).toBe('Hi there.');
    expect(runs(events).slice(0, 3)).toEqual(['audio_received', 'transcription', 'text']);
    expect(events[0]).toEqual({ name: 'audio_received', args: [{ size: 8 }] });
    expect(events[1]).toEqual({
      name: 'transcription',
      args: [{ text: 'hello from a recording', language: 'en' }],
    });
    expect(Buffer.from(stt.calls[0]!.audio as Uint8Array)).toEqual(Buffer.from(recording));

    const text = await agent.transcribeAudio(recording);
    expect(text).toBe('just transcribe me');
    expect(events.filter((e) => e.name === 'text')).toHaveLength(2); // no new turn
    // Refused audio: the error names the method it was given to.
    for (const method of ['sendAudio', 'transcribeAudio'] as const) {
      await expect(agent[method](new Uint8Array(0))).rejects.toMatchObject({
        code: 'empty_audio',
        message: `${method}: audio is empty`,
      });
    }
    expect(stt.calls).toHaveLength(2);
  });

  it('interruptSpeech stops the response: pending speech is aborted, history keeps what was sent', async () => {
    const speech = mockSpeechModel({ delayFor: (text) => (text.startsWith('First') ? 5 : 2000) });
    agent = new VoiceAgent({
      model: mockLanguageModel(['First sentence is here. Second sentence never arrives.']),
      speechModel: speech.model,
      streamingSpeech: { minChunkSize: 5 },
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    const turn = agent.sendText('talk');
    await until(() => events.some((e) => e.name === 'audio_chunk'));
    agent.interruptSpeech();
    expect(await turn).toBe('First sentence is here.');
    const names = events.map((e) => e.name);
    expect(names.filter((n) => n === 'audio_chunk')).toHaveLength(1);
    expect(events.find((e) => e.name === 'speech_interrupted')?.args).toEqual([{ reason: 'interrupted' }]);
    expect(names).not.toContain('speech_complete');
    await until(() => speech.aborted.length === 1);
    expect(speech.aborted).toEqual(['Second sentence never arrives.']);
    expect(agent.getHistory().map((m) => [m.role, messageText(m)])).toEqual([
      ['user', 'talk'],
      ['assistant', 'First sentence is here.'],
    ]);
  });

  it('generateAndSendSpeechFull emits speech_start, one audio, speech_complete (not streaming)', async () => {
    const speech = mockSpeechModel();
    agent = new VoiceAgent({
      model: mockLanguageModel(['x']),
      speechModel: speech.model,
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    await agent.generateAndSendSpeechFull('Welcome back!');
    expect(events.map((e) => e.name)).toEqual(['speech_start', 'audio', 'speech_complete']);
    expect(events[0]!.args).toEqual([{ streaming: false }]);
    const audio = events[1]!.args[0] as { data: string; format: string; uint8Array: Uint8Array };
    expect(audio.format).toBe('opus');
    expect(textOfAudio(audio.uint8Array)).toBe('Welcome back!');
    expect(audio.data).toBe(Buffer.from(audio.uint8Array).toString('base64'));
    // Blank text is refused before any request: nothing more is emitted.
    await expect(agent.generateAndSendSpeechFull('  ')).rejects.toMatchObject({ code: 'empty_text' });
    expect(speech.calls).toHaveLength(1);
    expect(events).toHaveLength(3);
  });

  it('history limits emit history_trimmed; clearHistory emits history_cleared', async () => {
    agent = new VoiceAgent({
      model: mockLanguageModel(['Answer.']),
      history: { maxMessages: 2 },
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    await agent.sendText('one');
    await agent.sendText('two');
    expect(events.filter((e) => e.name === 'history_trimmed').map((e) => e.args[0])).toEqual([
      { removedCount: 1, reason: 'max_messages' },
      { removedCount: 1, reason: 'max_messages' },
    ]);
    expect(agent.getHistory()).toHaveLength(2);
    agent.clearHistory();
    expect(events.at(-1)).toEqual({ name: 'history_cleared', args: [] });
    expect(agent.getHistory()).toEqual([]);
  });

  it('history maxMessages 0 keeps every message (the reference: 0 is unlimited)', async () => {
    agent = new VoiceAgent({
      model: mockLanguageModel(['Answer.']),
      history: { maxMessages: 0 },
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    await agent.sendText('one');
    await agent.sendText('two');
    expect(agent.getHistory().map(messageText)).toEqual(['one', 'Answer.', 'two', 'Answer.']);
    expect(events.filter((e) => e.name === 'history_trimmed')).toEqual([]);
  });

  it('errors: a failing LLM and a failing speech chunk emit Error objects; the agent goes on', async () => {
    const speech = mockSpeechModel({ failOn: (text) => text.includes('broken') });
    agent = new VoiceAgent({
      model: mockLanguageModel([
        [{ error: new Error('model exploded') }],
        'This one is broken. This one works fine.',
      ]),
      speechModel: speech.model,
      streamingSpeech: { minChunkSize: 5 },
      logger: silentLogger,
    });
    const events = recordEvents(agent);
    await expect(agent.sendText('first')).rejects.toThrow(/model exploded/);
    await agent.sendText('second');
    const errors = events.filter((e) => e.name === 'error').map((e) => e.args[0] as Error);
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e).toBeInstanceOf(Error);
    expect(errors[1]!.message).toMatch(/broken/);
    const chunks = events
      .filter((e) => e.name === 'audio_chunk')
      .map((e) => (e.args[0] as { text: string }).text);
    expect(chunks).toEqual(['This one works fine.']);
    expect(events.filter((e) => e.name === 'speech_complete')).toHaveLength(1);
  });

  it('options without a model, or no options at all (a JavaScript caller), are refused with invalid_options', () => {
    for (const options of [undefined, {}, { model: undefined }]) {
      expect(() => new VoiceAgent(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({
          name: 'InvalidInputError',
          code: 'invalid_options',
          message: 'VoiceAgent needs a model',
        }),
      );
    }
  });

  it('after destroy every call fails with AgentDestroyedError; waiting inputs are rejected', async () => {
    agent = new VoiceAgent({
      model: mockLanguageModel([{ parts: [{ text: 'slow answer' }], initialDelayMs: 200 }]),
      transcriptionModel: mockTranscriptionModel(['x']).model,
      logger: silentLogger,
    });
    const closes: string[] = [];
    agent.bus.subscribe('session.close', (p) => closes.push(p.reason));
    const first = agent.sendText('one');
    const waiting = agent.sendText('two');
    await sleep(10);
    agent.destroy();
    expect(closes).toEqual(['destroyed']);
    await expect(waiting).rejects.toBeInstanceOf(AgentDestroyedError);
    await expect(waiting).rejects.toThrow(/^a queued input\(\) was called after destroy\(\)/);
    const interrupted = await first;
    expect(interrupted).toBe('');
    expect(agent.destroyed).toBe(true);
    const a = agent;
    await expect(a.sendText('x')).rejects.toBeInstanceOf(AgentDestroyedError);
    await expect(a.sendAudio(new Uint8Array([1]))).rejects.toBeInstanceOf(AgentDestroyedError);
    await expect(a.transcribeAudio(new Uint8Array([1]))).rejects.toBeInstanceOf(AgentDestroyedError);
    await expect(a.generateAndSendSpeechFull('x')).rejects.toThrow(
      /^generateAndSendSpeechFull\(\) was called after destroy\(\)/,
    );
    await expect(a.connect('ws://127.0.0.1:1')).rejects.toBeInstanceOf(AgentDestroyedError);
    expect(() => a.interruptSpeech()).toThrow(AgentDestroyedError);
    expect(() => a.clearHistory()).toThrow(AgentDestroyedError);
    expect(() => a.handleSocket({} as never)).toThrow(/^handleSocket\(\) was called after destroy\(\)/);
    expect(() => a.destroy()).not.toThrow();
  });
});
