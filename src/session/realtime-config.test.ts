/**
 * What a realtime session tells its provider and how it is made: the session config of an agent
 * (`buildSessionConfig`: instructions and memory, tools, voice, turn detection, transcription, a
 * resumption handle or the conversation replayed within its budget), the audio options of a
 * realtime session (`realtimeAudio`) and the checks `createRealtimeRunner` makes of its options.
 */
import type { ModelMessage } from 'ai';
import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ScriptedRealtimeModel } from '../../test/support/scripted-realtime.ts';
import type { AgentDefinition } from '../agents/agent.ts';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { RealtimeModel } from '../providers/realtime/types.ts';
import type { TtsModel } from '../providers/types.ts';
import { MockVad } from '../testing/mock-vad.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { ConversationHistory } from './history.ts';
import {
  buildSessionConfig,
  type RealtimeOptions,
  type RealtimeRunnerHost,
  replayHistory,
} from './realtime-config.ts';
import { createRealtimeRunner, RealtimeRunner, realtimeAudio } from './realtime-session.ts';
import type { VoiceSessionOptions } from './session-options.ts';

function host(o: { realtime?: Partial<RealtimeOptions>; history?: ModelMessage[]; memory?: string } = {}) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const rec = new EventRecorder(bus);
  const conversation = new ConversationHistory();
  conversation.replace(o.history ?? []);
  const h = {
    bus,
    sessionId: 's1',
    conversation,
    realtime: { model: new ScriptedRealtimeModel(), ...o.realtime },
    memoryPrompt: () => o.memory ?? '',
  } as unknown as RealtimeRunnerHost;
  return { h, rec };
}

const agent: AgentDefinition = { name: 'main', instructions: 'You are helpful.' };

describe('buildSessionConfig', () => {
  it('a first connect: instructions, no tools, the provider turn detection; nothing else', async () => {
    const { h } = host();
    expect(await buildSessionConfig(h, agent, {}, { replay: false })).toEqual({
      instructions: 'You are helpful.',
      tools: [],
      turnDetection: { type: 'provider' },
    });
  });

  it("the memory prompt follows the agent's instructions; the voice and the tools are declared", async () => {
    const { h } = host({ memory: '\n\nKnown: likes tea.' });
    const lookup = tool({ description: 'Looks up', inputSchema: z.object({}), execute: async () => 1 });
    const config = await buildSessionConfig(h, { ...agent, voice: 'marin' }, { lookup }, { replay: false });
    expect(config.instructions).toBe('You are helpful.\n\nKnown: likes tea.');
    expect(config.voice).toBe('marin');
    expect(config.tools.map((t) => [t.name, t.description])).toEqual([['lookup', 'Looks up']]);
  });

  const detection: Array<[string, Partial<RealtimeOptions>, unknown]> = [
    ['provider (default)', {}, { type: 'provider' }],
    [
      'provider, tuned',
      { turnDetection: 'provider', providerTurnDetection: { mode: 'semantic_vad', eagerness: 'low' } },
      { type: 'provider', mode: 'semantic_vad', eagerness: 'low' },
    ],
    [
      'local: manual (the tuning is the VAD’s)',
      { turnDetection: 'local', providerTurnDetection: { silenceMs: 9 } },
      { type: 'manual' },
    ],
  ];
  for (const [name, realtime, expected] of detection) {
    it(`turn detection: ${name}`, async () => {
      const { h } = host({ realtime });
      expect((await buildSessionConfig(h, agent, {}, { replay: false })).turnDetection).toEqual(expected);
    });
  }

  it('input transcription: only `false` is said (true and unset are the provider default)', async () => {
    for (const [inputTranscription, expected] of [
      [false, { inputTranscription: false }],
      [true, {}],
      [undefined, {}],
    ] as const) {
      const { h } = host({ realtime: inputTranscription === undefined ? {} : { inputTranscription } });
      const config = await buildSessionConfig(h, agent, {}, { replay: false });
      const { instructions: _i, tools: _t, turnDetection: _d, ...rest } = config;
      expect(rest).toEqual(expected);
    }
  });

  it('a resumption handle is passed and nothing replayed; a replay carries the conversation', async () => {
    const history: ModelMessage[] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ];
    const { h } = host({ history });
    const resumed = await buildSessionConfig(h, agent, {}, { resumeHandle: 'h1' });
    expect(resumed.resumeHandle).toBe('h1');
    expect(resumed).not.toHaveProperty('history');
    const replayed = await buildSessionConfig(h, agent, {}, { replay: true });
    expect(replayed.history).toEqual([
      { role: 'user', text: 'hi' },
      { role: 'assistant', text: 'hello' },
    ]);
    expect(replayed).not.toHaveProperty('resumeHandle');
    expect(await buildSessionConfig(h, agent, {}, { replay: false })).not.toHaveProperty('history');
  });
});

describe('replayHistory', () => {
  it('user and assistant text only, trimmed; blank, system and tool messages left out', () => {
    const { h, rec } = host({
      history: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: '  what time is it \n' },
        { role: 'assistant', content: [{ type: 'text', text: 'Noon.' }] },
        { role: 'user', content: '   ' },
        {
          role: 'tool',
          content: [
            { type: 'tool-result', toolCallId: 'c', toolName: 't', output: { type: 'text', value: 'x' } },
          ],
        },
        { role: 'assistant', content: 'Bye.' },
      ],
    });
    expect(replayHistory(h)).toEqual([
      { role: 'user', text: 'what time is it' },
      { role: 'assistant', text: 'Noon.' },
      { role: 'assistant', text: 'Bye.' },
    ]);
    expect(rec.events).toEqual([]);
  });

  const numbered = (n: number): ModelMessage[] =>
    Array.from(
      { length: n },
      (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }) as ModelMessage,
    );

  it('40 items by default fit; a 41st leaves out the oldest and says so (context.compact)', () => {
    const fits = host({ history: numbered(40) });
    expect(replayHistory(fits.h)).toHaveLength(40);
    expect(fits.rec.events).toEqual([]);
    const over = host({ history: numbered(41) });
    const items = replayHistory(over.h);
    expect(items).toHaveLength(40);
    expect(items[0]).toEqual({ role: 'assistant', text: 'm1' });
    expect(over.rec.events).toEqual([
      { type: 'context.compact', payload: { sessionId: 's1', removedItems: 1 } },
    ]);
  });

  it('replayMaxItems: the newest N kept, the count of the rest published', () => {
    const { h, rec } = host({ history: numbered(5), realtime: { replayMaxItems: 2 } });
    expect(replayHistory(h)).toEqual([
      { role: 'assistant', text: 'm3' },
      { role: 'user', text: 'm4' },
    ]);
    expect(rec.payloads('context.compact')).toEqual([{ sessionId: 's1', removedItems: 3 }]);
    const exact = host({ history: numbered(2), realtime: { replayMaxItems: 2 } });
    expect(replayHistory(exact.h)).toHaveLength(2);
    expect(exact.rec.events).toEqual([]);
  });
});

describe('realtimeAudio', () => {
  const model = new ScriptedRealtimeModel();
  const vad = new MockVad();
  const stt = { specificationVersion: 'x' } as never;
  const endOfTurn = { kind: 'x' } as never;
  const output = { write: () => {} };

  it('no audio: a text session (no speech output)', () => {
    expect(realtimeAudio({ realtime: { model } } as unknown as VoiceSessionOptions)).toBeUndefined();
  });

  it('provider detection: no STT, no end-of-turn model, no VAD; the speech output speaks the model', () => {
    const audio = realtimeAudio({
      realtime: { model },
      audio: { vad, stt, endOfTurn, output, inputSampleRate: 16000 },
    } as unknown as VoiceSessionOptions)!;
    expect(Object.keys(audio).sort()).toEqual(['inputSampleRate', 'output', 'tts']);
    expect(audio.output).toBe(output);
    expect(audio.inputSampleRate).toBe(16000);
    expect([audio.tts!.provider, audio.tts!.modelId, audio.tts!.sampleRate]).toEqual([
      'realtime',
      'model-audio',
      24000,
    ]);
    expect(() => (audio.tts as TtsModel).synthesize({ text: 'hello' } as never)).toThrow(
      expect.objectContaining({
        name: 'SessionStateError',
        code: 'speak_unsupported',
        message: 'A realtime session speaks through its model; it has no text-to-speech',
      }),
    );
  });

  it('local detection keeps the VAD (it drives the model); without one it is refused', () => {
    const audio = realtimeAudio({
      realtime: { model, turnDetection: 'local' },
      audio: { vad, stt, output },
    } as unknown as VoiceSessionOptions)!;
    expect(audio.vad).toBe(vad);
    expect(audio).not.toHaveProperty('stt');
    for (const audio of [undefined, { output }]) {
      expect(() =>
        realtimeAudio({
          realtime: { model, turnDetection: 'local' },
          audio,
        } as unknown as VoiceSessionOptions),
      ).toThrow(
        expect.objectContaining({
          name: 'ConfigError',
          code: 'vad_required',
          message: "realtime.turnDetection 'local' needs a VAD model (audio.vad)",
        }),
      );
    }
  });
});

describe('createRealtimeRunner checks its options', () => {
  const runnerHost = (agents: AgentDefinition[] = [agent]) => {
    const { h } = host();
    return { ...h, agents: new Map(agents.map((a) => [a.name, a])), currentAgent: () => agents[0]!.name };
  };
  const refused = (code: string, message: string) =>
    expect.objectContaining({ name: 'ConfigError', code, message });

  it('a model that is not a realtime model', () => {
    const message = 'realtime.model must be a realtime model (OpenAIRealtimeModel, GeminiLiveModel)';
    for (const model of [undefined, {}, { connect: 'no' }]) {
      expect(() => createRealtimeRunner({ model } as unknown as RealtimeOptions, runnerHost())).toThrow(
        refused('invalid_options', message),
      );
    }
    expect(() => createRealtimeRunner(undefined as unknown as RealtimeOptions, runnerHost())).toThrow(
      refused('invalid_options', message),
    );
  });

  it('maxAudioAheadMs must be a positive finite number of ms', () => {
    const model = new ScriptedRealtimeModel();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '500']) {
      expect(() => createRealtimeRunner({ model, maxAudioAheadMs: bad as number }, runnerHost())).toThrow(
        refused(
          'invalid_options',
          `realtime.maxAudioAheadMs must be a positive number of ms, got ${String(bad)}`,
        ),
      );
    }
    for (const good of [undefined, 0.5, 60_000]) {
      expect(createRealtimeRunner({ model, maxAudioAheadMs: good }, runnerHost())).toBeInstanceOf(
        RealtimeRunner,
      );
    }
  });

  it("an agent's own realtime model is checked when the session is made", () => {
    const model = new ScriptedRealtimeModel();
    const bad = { name: 'billing', instructions: 'x', realtime: { connect: 1 } as unknown as RealtimeModel };
    expect(() => createRealtimeRunner({ model }, runnerHost([agent, bad]))).toThrow(
      refused('invalid_agent', 'Agent "billing": realtime must be a realtime model'),
    );
    const old = {
      ...new ScriptedRealtimeModel(),
      connect: async () => ({}) as never,
      specificationVersion: 'v0',
    };
    expect(() =>
      createRealtimeRunner(
        { model },
        runnerHost([agent, { name: 'b', instructions: 'x', realtime: old as never }]),
      ),
    ).toThrow(expect.objectContaining({ code: 'unsupported_specification' }));
    const good = { name: 'b', instructions: 'x', realtime: new ScriptedRealtimeModel() };
    expect(createRealtimeRunner({ model }, runnerHost([agent, good]))).toBeInstanceOf(RealtimeRunner);
  });

  it('a model of another specification version is refused', () => {
    const old = {
      ...new ScriptedRealtimeModel(),
      connect: async () => ({}) as never,
      specificationVersion: 'v0',
    };
    expect(() => createRealtimeRunner({ model: old as never }, runnerHost())).toThrow(
      expect.objectContaining({ code: 'unsupported_specification' }),
    );
  });
});
