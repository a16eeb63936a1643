/**
 * The session a `VoiceAgent` builds from its options (`createAgentSession`): what the speech model is
 * asked for (voice, format, style), the system prompt, the user id, the step limit, the history
 * limits, how text is cut into speech chunks and how many speech requests run at once.
 */
import type { ModelMessage } from 'ai';
import { stepCountIs } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { whenTrue } from '../../../test/support/when-true.ts';
import { mockSpeechModel } from '../../../test/voice-agent/helpers.ts';
import { silentLogger } from '../../logger.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import type { VoiceAgentOptions } from './options.ts';
import { VoiceAgent } from './voice-agent.ts';

const agents: VoiceAgent[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.destroy();
});

function make(options: Partial<VoiceAgentOptions> = {}): VoiceAgent {
  const agent = new VoiceAgent({ model: mockLanguageModel(['Fine.']), logger: silentLogger, ...options });
  agents.push(agent);
  return agent;
}

describe('what the speech model is asked for', () => {
  it.each([
    ['defaults: voice alloy, format opus, no style', {}, { voice: 'alloy', outputFormat: 'opus' }],
    [
      'the voice, format and style given',
      { voice: 'nova', outputFormat: 'mp3', speechInstructions: 'Warmly.' },
      { voice: 'nova', outputFormat: 'mp3', instructions: 'Warmly.' },
    ],
    ['an empty style is no style', { speechInstructions: '' }, { voice: 'alloy', outputFormat: 'opus' }],
  ])('%s', async (_name, options, asked) => {
    const speech = mockSpeechModel();
    const agent = make({ speechModel: speech.model, ...options });
    await agent.generateSpeechFromText('Hello.');
    const call = speech.calls[0]!;
    expect({
      voice: call.voice,
      outputFormat: call.outputFormat,
      ...(call.instructions !== undefined ? { instructions: call.instructions } : {}),
    }).toEqual(asked);
  });
});

describe('the system prompt', () => {
  it.each([
    ['the instructions option', { instructions: 'Be a pirate.' }, {}, 'Be a pirate.'],
    [
      'the instructions option over the default given',
      { instructions: 'Be a pirate.' },
      { instructions: 'Be a cat.' },
      'Be a pirate.',
    ],
    ['the default given (VideoAgent)', {}, { instructions: 'Be a cat.' }, 'Be a cat.'],
    ['the reference default', {}, {}, 'You are a helpful voice assistant.'],
  ])('%s', async (_name, options, defaults, system) => {
    const model = mockLanguageModel(['Ok.']);
    const agent = new VoiceAgent({ model, logger: silentLogger, ...options }, defaults);
    agents.push(agent);
    await agent.sendText('hi');
    expect(model.calls[0]!.prompt[0]).toEqual({ role: 'system', content: system });
  });
});

describe('session identity and limits', () => {
  it('userId: "voice-agent" by default, else the option', () => {
    expect(make().session.userId).toBe('voice-agent');
    expect(make({ userId: 'ana' }).session.userId).toBe('ana');
  });

  it.each([
    ['five steps by default', undefined, 5],
    ['the stopWhen given', stepCountIs(2), 2],
  ])('a model that keeps calling tools stops after %s', async (_name, stopWhen, calls) => {
    const model = mockLanguageModel([[{ toolCall: { name: 'noop', args: {} } }]]);
    const { tool, jsonSchema } = await import('ai');
    const agent = make({
      model,
      ...(stopWhen ? { stopWhen } : {}),
      tools: {
        noop: tool({
          description: 'nothing',
          inputSchema: jsonSchema({ type: 'object' }),
          execute: async () => 'ok',
        }),
      },
    });
    await agent.sendText('go');
    expect(model.calls).toHaveLength(calls);
  });

  it.each([
    ['no character limit by default', {}, 4],
    ['maxTotalChars 0 is no limit', { maxTotalChars: 0 }, 4],
    ['maxTotalChars keeps the newest messages within it', { maxTotalChars: 100 }, 2],
  ])('history: %s', async (_name, history, kept) => {
    const big = 'x'.repeat(60_000);
    const agent = make({ history });
    const earlier: ModelMessage[] = [
      { role: 'user', content: big },
      { role: 'assistant', content: big },
    ];
    agent.setHistory(earlier);
    await agent.sendText('hi');
    expect(agent.getHistory()).toHaveLength(kept);
  });
});

describe('how text becomes speech', () => {
  const LONG =
    'alpha beta gamma delta, epsilon zeta eta theta, iota kappa lambda mu, nu xi omicron pi, rho sigma tau upsilon, phi chi psi omega';

  it.each([
    ['maxChunkSize splits a long clause run at clause boundaries', { maxChunkSize: 60 }, 60],
    ['the default of 200 keeps it whole', {}, 200],
  ])('%s', async (_name, streamingSpeech, max) => {
    const speech = mockSpeechModel();
    const agent = make({ speechModel: speech.model, model: mockLanguageModel([LONG]), streamingSpeech });
    await agent.sendText('Recite.');
    const texts = speech.calls.map((c) => c.text);
    expect(texts.join(' ')).toBe(LONG);
    expect(Math.max(...texts.map((t) => t.length))).toBeLessThanOrEqual(max);
    expect(texts.length).toBe(max === 200 ? 1 : 3);
  });

  const FIVE = 'One is here. Two is here. Three is here. Four is here. Five is here.';
  it.each([
    ['three at once by default', {}, 3],
    ['maxParallelRequests', { maxParallelRequests: 2 }, 2],
    ['maxParallelRequests above the default', { maxParallelRequests: 4 }, 4],
    ['at least one', { maxParallelRequests: 0 }, 1],
    ['parallelGeneration false: one at a time', { parallelGeneration: false, maxParallelRequests: 4 }, 1],
    ['parallelGeneration true keeps the count', { parallelGeneration: true, maxParallelRequests: 2 }, 2],
  ])('speech requests at once: %s', async (_name, options, running) => {
    const speech = mockSpeechModel({ delayFor: () => 10_000 });
    const agent = make({
      speechModel: speech.model,
      model: mockLanguageModel([FIVE]),
      streamingSpeech: { minChunkSize: 5, ...options },
    });
    let queued = 0;
    agent.bus.subscribe('speech.chunk.queued', () => queued++);
    const llmDone = new Promise<void>((resolve) => agent.bus.once('llm.end', () => resolve()));
    void agent.sendText('Count.').catch(() => {});
    await llmDone;
    await whenTrue(() => queued === 5 && speech.calls.length >= running);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(speech.calls.map((c) => c.text)).toEqual(FIVE.split(/(?<=\.) /).slice(0, running));
  });
});
