/**
 * The turn runner's own rules, through a real session: a turn's images go to the model with that
 * turn only, background results wait for the running turn and are announced (or only recorded when
 * `announceBackgroundResults` is false), background tools and subagents tell the agent what they found,
 * a turn's steps are bounded, agents passing the user around stop, and a spoken turn —
 * opened when the user starts speaking — never overlaps another.
 */
import { type StopCondition, stepCountIs, type ToolSet, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { MemoryStore } from '../agents/memory.ts';
import { silentLogger } from '../logger.ts';
import { type MockResponseInput, mockLanguageModel } from '../testing/mock-llm.ts';
import { MockStt } from '../testing/mock-stt.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { MockVad } from '../testing/mock-vad.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { defineTool } from '../tools/define-tool.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

function makeSession(overrides: Partial<VoiceSessionOptions> = {}) {
  const session = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents: [{ name: 'main', instructions: 'x' }],
    model: mockLanguageModel(['Hello.']),
    logger: silentLogger,
    ...overrides,
  });
  return { session, rec: new EventRecorder(session.eventBus) };
}

/** The content of the prompt's user messages of one model call, part types only for arrays. */
function userContents(prompt: ReadonlyArray<{ role: string; content: unknown }>): unknown[] {
  return prompt
    .filter((m) => m.role === 'user')
    .map((m) =>
      Array.isArray(m.content)
        ? m.content.map((p: { type: string; text?: string }) => (p.type === 'text' ? p.text : p.type))
        : m.content,
    );
}

describe('turn input: images', () => {
  it('an image goes to the model with its own turn only; history and user.text keep the text', async () => {
    const model = mockLanguageModel(['A red square.', 'Yes.']);
    const { session, rec } = makeSession({ model });
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await session.sendText('What is this?', { images: [{ data: png, mediaType: 'image/png' }] });
    await session.sendText('Sure?');

    expect(rec.payloads('user.text')).toEqual([
      { sessionId: 's', turnId: expect.any(String), text: 'What is this?', source: 'text', hasImage: true },
      { sessionId: 's', turnId: expect.any(String), text: 'Sure?', source: 'text' },
    ]);
    // First call: the user message carries the text and the image.
    expect(userContents(model.calls[0].prompt)).toEqual([['What is this?', 'file']]);
    // Second call: the earlier turn is text only, as history keeps it.
    expect(userContents(model.calls[1].prompt)).toEqual([['What is this?'], ['Sure?']]);
    expect(session.history.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'What is this?',
      'Sure?',
    ]);
    await session.close();
  });

  it('an image turn after others sends the earlier messages as they are, and the image with its own message', async () => {
    const model = mockLanguageModel(['Hello.', 'A red square.']);
    const { session } = makeSession({ model });
    await session.sendText('Hi');
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await session.sendText('What is this?', { images: [{ data: png, mediaType: 'image/png' }] });
    expect(model.calls[1].prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(userContents(model.calls[1].prompt)).toEqual([['Hi'], ['What is this?', 'file']]);
    await session.close();
  });

  it('an empty image list is no image', async () => {
    const model = mockLanguageModel(['Hi.']);
    const { session, rec } = makeSession({ model });
    await session.sendText('Hello', { images: [] });
    expect(rec.first('user.text')).toEqual({
      sessionId: 's',
      turnId: expect.any(String),
      text: 'Hello',
      source: 'text',
    });
    expect(userContents(model.calls[0].prompt)).toEqual([['Hello']]);
    await session.close();
  });
});

describe('turn input: timing', () => {
  it('when the client sent the input and when it arrived give the turn’s clientToBackendMs', async () => {
    const { session, rec } = makeSession();
    await session.sendText('Hello', { client: { sentAt: 1_000, receivedAt: 1_042 } });
    expect(rec.first('turn.latency')).toMatchObject({ kind: 'text', segments: { clientToBackendMs: 42 } });
    await session.close();
  });

  it('a transcribed recording’s end of speech is where its turn’s latency starts', async () => {
    const { session, rec } = makeSession();
    const speechEndAt = Date.now() - 5_000; // ms since the epoch
    await session.commitUserSpeech('Hello', { speechEndAt });
    const latency = await rec.waitFor('turn.latency');
    expect(latency.marks.userSpeechEndAt).toBe(speechEndAt);
    expect(latency.segments.totalE2EMs).toBeGreaterThan(4_000);
    await session.close();
  });
});

describe('background notes', () => {
  it('a note that arrives during a turn waits for its end, then enters history and is announced in a new turn', async () => {
    const model = mockLanguageModel([
      { parts: [{ text: 'Working on it.' }], chunkDelayMs: 5 },
      'The parcel has arrived.',
    ]);
    const { session, rec } = makeSession({ model });
    const first = session.sendText('Where is my parcel?');
    await rec.waitFor('llm.text.delta');
    session.notify('[parcel delivered]');
    expect(session.pendingNotifications).toEqual(['[parcel delivered]']);
    expect(rec.types('turn.start')).toHaveLength(1);
    await first;
    const announced = await rec.waitFor('assistant.text', (p) => p.text === 'The parcel has arrived.');
    expect(session.pendingNotifications).toEqual([]);
    expect(rec.types('turn.start')).toHaveLength(2);
    expect(rec.payloads('turn.end').map((p) => p.turnId)).toContain(announced.turnId);
    // The note is a user message of history, after the first turn; the announcing turn has no user.text.
    expect(session.history.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Where is my parcel?'],
      ['assistant', expect.anything()],
      ['user', '[parcel delivered]'],
      ['assistant', expect.anything()],
    ]);
    expect(rec.payloads('user.text')).toHaveLength(1);
    await session.close();
  });

  it('a note that arrives during a turn the client then stops is announced once that turn is cut', async () => {
    const model = mockLanguageModel([
      { parts: [{ text: 'Working' }, { delayMs: 60_000 }, { text: ' never said' }] },
      'The parcel has arrived.',
    ]);
    const { session, rec } = makeSession({ model });
    const first = session.sendText('Where is my parcel?');
    await rec.waitFor('llm.text.delta');
    session.notify('[parcel delivered]');
    session.interrupt('client_request');
    expect(await first).toMatchObject({ interrupted: true, reason: 'client_request' });
    const announced = await rec.waitFor('assistant.text', (p) => p.text === 'The parcel has arrived.');
    expect(session.pendingNotifications).toEqual([]);
    expect(rec.types(['turn.start', 'turn.interrupted', 'turn.end'])).toEqual([
      'turn.start',
      'turn.interrupted',
      'turn.start',
      'turn.end',
    ]);
    expect(rec.payloads('turn.end')[0].turnId).toBe(announced.turnId);
    expect(session.history.map((m) => m.content)).toEqual([
      'Where is my parcel?',
      'Working',
      '[parcel delivered]',
      expect.anything(),
    ]);
    await session.close();
  });

  it('notes that arrive together are one history message, one line each', async () => {
    const model = mockLanguageModel([{ parts: [{ text: 'One moment.' }], chunkDelayMs: 5 }, 'Both done.']);
    const { session, rec } = makeSession({ model });
    const first = session.sendText('Do two things');
    await rec.waitFor('llm.text.delta');
    session.notify('[first done]');
    session.notify('[second done]');
    expect(session.pendingNotifications).toEqual(['[first done]', '[second done]']);
    await first;
    await rec.waitFor('assistant.text', (p) => p.text === 'Both done.');
    expect(session.history[2]).toEqual({ role: 'user', content: '[first done]\n[second done]' });
    expect(rec.types('turn.start')).toHaveLength(2);
    await session.close();
  });

  it('with announceBackgroundResults false a note enters history without a turn', async () => {
    const model = mockLanguageModel(['never said']);
    const { session, rec } = makeSession({ model, announceBackgroundResults: false });
    session.notify('[report ready]');
    expect(session.history).toEqual([{ role: 'user', content: '[report ready]' }]);
    expect(session.pendingNotifications).toEqual([]);
    expect(rec.types('turn.start')).toEqual([]);
    expect(model.calls).toHaveLength(0);
    await session.close();
  });

  it('a note after close is dropped', async () => {
    const { session, rec } = makeSession();
    await session.close();
    session.notify('[too late]');
    expect(session.pendingNotifications).toEqual([]);
    expect(session.history).toEqual([]);
    expect(rec.types('turn.start')).toEqual([]);
  });
});

describe('transfers within one turn', () => {
  it('agents that keep transferring to each other stop after three transfers in one turn', async () => {
    const transferTo = (agent: string) => [{ toolCall: { name: 'transfer_to_agent', args: { agent } } }];
    const frontModel = mockLanguageModel([transferTo('billing')]);
    const billingModel = mockLanguageModel([transferTo('front')]);
    const { session, rec } = makeSession({
      agents: [
        { name: 'front', instructions: 'You greet.', description: 'greets', model: frontModel },
        { name: 'billing', instructions: 'You bill.', description: 'invoices', model: billingModel },
      ],
      model: frontModel,
    });
    const r = await session.sendText('pass me around');
    expect(rec.payloads('agent.transfer').map((p) => [p.fromAgent, p.toAgent])).toEqual([
      ['front', 'billing'],
      ['billing', 'front'],
      ['front', 'billing'],
    ]);
    // Four passes: the fourth one's transfer request is not carried out.
    expect(frontModel.calls.length + billingModel.calls.length).toBe(4);
    expect(r).toMatchObject({ interrupted: false, agentName: 'billing' });
    expect(session.currentAgent).toBe('billing');
    expect(rec.types(['turn.start', 'turn.end'])).toEqual(['turn.start', 'turn.end']);
    await session.close();
  });
});

const RATE = 16000;
/** 20 ms of a 440 Hz tone: speech for the energy VAD. */
function tone(): Int16Array {
  const f = new Int16Array(320);
  for (let i = 0; i < f.length; i++) f[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
  return f;
}

/** A session that hears (energy VAD, scripted STT) and answers in text only. */
function listeningSession(
  model = mockLanguageModel(['Answer.']),
  transcripts = ['hello there'],
  overrides: Partial<VoiceSessionOptions> = {},
) {
  return makeSession({
    ...overrides,
    model,
    audio: {
      vad: new MockVad(),
      stt: new MockStt({ script: transcripts }),
      inputSampleRate: RATE,
      vadOptions: { minSpeechMs: 60, minSilenceMs: 100 },
      endpointing: { endpointingMs: 100, maxEndpointingMs: 2000 },
    },
  });
}

/** Feed `ms` of audio at once (the VAD runs on audio time, not the wall clock). */
function push(session: VoiceSession, make: () => Int16Array, ms: number): void {
  for (let t = 0; t < ms; t += 20) session.pushAudio(make(), RATE);
}

const turnEvents = (rec: EventRecorder) =>
  rec.events
    .filter((e) => ['turn.start', 'turn.interrupted', 'turn.end', 'user.text'].includes(e.type))
    .map((e) => [e.type, e.payload]);

describe('spoken turns', () => {
  it('typed input while a spoken turn waits for its transcript ends that turn interrupted; the typed turn is a new one', async () => {
    const { session, rec } = listeningSession();
    push(session, tone, 160);
    const spoken = await rec.waitFor('turn.start');
    await session.sendText('typed instead');
    const typed = rec.payloads('turn.start')[1].turnId;
    expect(typed).not.toBe(spoken.turnId);
    expect(turnEvents(rec)).toEqual([
      ['turn.start', { sessionId: 's', turnId: spoken.turnId }],
      ['turn.interrupted', { sessionId: 's', turnId: spoken.turnId, reason: 'interrupted' }],
      ['turn.start', { sessionId: 's', turnId: typed }],
      ['user.text', { sessionId: 's', turnId: typed, text: 'typed instead', source: 'text' }],
      ['turn.end', { sessionId: 's', turnId: typed }],
    ]);
    await session.close();
  });

  it('closing the session while a spoken turn waits for its transcript ends it interrupted (disconnected)', async () => {
    const { session, rec } = listeningSession();
    push(session, tone, 160);
    const spoken = await rec.waitFor('turn.start');
    await session.close();
    expect(turnEvents(rec)).toEqual([
      ['turn.start', { sessionId: 's', turnId: spoken.turnId }],
      ['turn.interrupted', { sessionId: 's', turnId: spoken.turnId, reason: 'disconnected' }],
    ]);
  });

  it('speech that starts while a turn runs opens its turn only after that turn ends; the transcript continues it', async () => {
    const model = mockLanguageModel([
      { parts: [{ text: 'first' }, { delayMs: 60_000 }, { text: 'never' }] },
      'Second.',
    ]);
    const { session, rec } = listeningSession(model);
    const typedTurn = session.sendText('talk');
    await rec.waitFor('llm.text.delta');
    push(session, tone, 160);
    await rec.waitFor('user.speech.start');
    // Turns never overlap: no turn.start while the first turn runs.
    expect(rec.types('turn.start')).toHaveLength(1);
    session.interrupt('client_request');
    const first = await typedTurn;
    expect(rec.types('turn.start')).toHaveLength(2);
    push(session, () => new Int16Array(320), 400);
    const end = await rec.waitFor('turn.end');
    const spoken = rec.payloads('turn.start')[1].turnId;
    expect(end.turnId).toBe(spoken);
    expect(turnEvents(rec)).toEqual([
      ['turn.start', { sessionId: 's', turnId: first.turnId }],
      ['user.text', { sessionId: 's', turnId: first.turnId, text: 'talk', source: 'text' }],
      ['turn.interrupted', { sessionId: 's', turnId: first.turnId, reason: 'client_request' }],
      ['turn.start', { sessionId: 's', turnId: spoken }],
      ['user.text', { sessionId: 's', turnId: spoken, text: 'hello there', source: 'speech' }],
      ['turn.end', { sessionId: 's', turnId: spoken }],
    ]);
    await session.close();
  });
});

describe('spoken turns and background notes', () => {
  it('a note that arrives during a turn still waits when the user’s speech opens the next turn; it is announced after that one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const lookup = tool({ inputSchema: z.object({}), execute: () => gate.then(() => 'found') });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'lookup', args: {}, id: 'l1' } }],
      'Found it.',
      'Second.',
      'Your parcel arrived.',
    ]);
    const { session, rec } = listeningSession(model, ['hello there'], {
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
    });
    const typed = session.sendText('look it up');
    await rec.waitFor('tool.call');
    push(session, tone, 160);
    await rec.waitFor('user.speech.start');
    session.notify('[parcel arrived]');
    release();
    await typed;
    // The user's turn opened as the typed one ended; the note waits for it.
    const spoken = rec.payloads('turn.start')[1].turnId;
    expect(session.pendingNotifications).toEqual(['[parcel arrived]']);
    push(session, () => new Int16Array(320), 400);
    const announced = await rec.waitFor('assistant.text', (p) => p.text === 'Your parcel arrived.');
    expect(turnEvents(rec).slice(3)).toEqual([
      ['turn.start', { sessionId: 's', turnId: spoken }],
      ['user.text', { sessionId: 's', turnId: spoken, text: 'hello there', source: 'speech' }],
      ['turn.end', { sessionId: 's', turnId: spoken }],
      ['turn.start', { sessionId: 's', turnId: announced.turnId }],
      ['turn.end', { sessionId: 's', turnId: announced.turnId }],
    ]);
    await session.close();
  });
});

describe('spoken turns that give no transcript', () => {
  it('a note that arrives while a spoken turn waits for its transcript is held, and announced once that turn is abandoned', async () => {
    const model = mockLanguageModel(['Your report is ready.']);
    const { session, rec } = listeningSession(model, ['']);
    push(session, tone, 160);
    const spoken = await rec.waitFor('turn.start');
    session.notify('[report ready]');
    expect(session.pendingNotifications).toEqual(['[report ready]']);
    expect(session.history).toEqual([]);
    push(session, () => new Int16Array(320), 400);
    const announced = await rec.waitFor('assistant.text');
    expect(announced.text).toBe('Your report is ready.');
    const announcing = rec.payloads('turn.start')[1].turnId;
    expect(turnEvents(rec)).toEqual([
      ['turn.start', { sessionId: 's', turnId: spoken.turnId }],
      ['turn.end', { sessionId: 's', turnId: spoken.turnId, abandoned: true }],
      ['turn.start', { sessionId: 's', turnId: announcing }],
      ['turn.end', { sessionId: 's', turnId: announcing }],
    ]);
    expect(session.history[0]).toEqual({ role: 'user', content: '[report ready]' });
    await session.close();
  });

  it('after a cough that gave no transcript, a typed turn ends and no spoken turn opens', async () => {
    const { session, rec } = listeningSession(mockLanguageModel(['Typed answer.']), ['']);
    push(session, tone, 160);
    const cough = await rec.waitFor('turn.start');
    push(session, () => new Int16Array(320), 400);
    await rec.waitFor('turn.end');
    const typed = await session.sendText('typed');
    expect(turnEvents(rec)).toEqual([
      ['turn.start', { sessionId: 's', turnId: cough.turnId }],
      ['turn.end', { sessionId: 's', turnId: cough.turnId, abandoned: true }],
      ['turn.start', { sessionId: 's', turnId: typed.turnId }],
      ['user.text', { sessionId: 's', turnId: typed.turnId, text: 'typed', source: 'text' }],
      ['turn.end', { sessionId: 's', turnId: typed.turnId }],
    ]);
    await session.close();
  });

  it('speech that resumes before the turn’s end is detected stays in the spoken turn already open', async () => {
    const { session, rec } = makeSession({
      audio: {
        vad: new MockVad(),
        stt: new MockStt({ script: ['hello', 'there'] }),
        inputSampleRate: RATE,
        vadOptions: { minSpeechMs: 60, minSilenceMs: 100 },
        // Long enough that the pause below never ends the turn, however slow the machine.
        endpointing: { endpointingMs: 10_000, maxEndpointingMs: 20_000 },
      },
    });
    push(session, tone, 160);
    push(session, () => new Int16Array(320), 200);
    push(session, tone, 160);
    await rec.waitFor('user.speech.stop');
    await rec.waitFor('user.speech.start', () => rec.types('user.speech.start').length === 2);
    expect(rec.types(['turn.start', 'user.speech.start', 'user.speech.stop'])).toEqual([
      'user.speech.start',
      'turn.start',
      'user.speech.stop',
      'user.speech.start',
    ]);
    await session.close();
  });
});

describe('what background work tells the agent', () => {
  it('a background tool result is a note naming the tool and call: text as is, anything else as JSON', async () => {
    const releases: Array<() => void> = [];
    const background = (result: unknown) =>
      defineTool({
        inputSchema: z.object({}),
        execution: 'background',
        execute: () =>
          new Promise((resolve) => {
            releases.push(() => resolve(result));
          }),
      });
    const model = mockLanguageModel([
      [
        { toolCall: { name: 'summary', args: {}, id: 'bg1' } },
        { toolCall: { name: 'count', args: {}, id: 'bg2' } },
      ],
      'Started both.',
      'Here they are.',
    ]);
    const { session, rec } = makeSession({
      model,
      agents: [
        {
          name: 'main',
          instructions: 'x',
          tools: { summary: background('All quiet.'), count: background({ pages: 42 }) },
        },
      ],
      announceBackgroundResults: false,
    });
    await session.sendText('start both');
    for (const release of releases) release();
    await rec.waitFor('tool.result', (p) => p.toolCallId === 'bg2');
    await rec.waitFor('tool.result', (p) => p.toolCallId === 'bg1');
    expect(session.history.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'start both',
      '[Background tool "summary" (bg1) finished with success: All quiet.]',
      '[Background tool "count" (bg2) finished with success: {"pages":42}]',
    ]);
    await session.close();
  });

  it('a subagent that finishes or fails is a note with its answer or its error', async () => {
    const run = async (researcherAnswer: MockResponseInput) => {
      const mainModel = mockLanguageModel([
        [{ toolCall: { name: 'handoff_to_researcher', args: { task: 'tides' }, id: 'h1' } }],
        'I asked our researcher.',
      ]);
      const { session, rec } = makeSession({
        model: mainModel,
        agents: [
          { name: 'main', instructions: 'main', subagents: ['researcher'], transfers: [] },
          {
            name: 'researcher',
            instructions: 'research',
            model: mockLanguageModel([researcherAnswer]),
            transfers: [],
          },
        ],
        announceBackgroundResults: false,
      });
      await session.sendText('why are there tides?');
      await rec.waitFor('subagent.notification');
      const notes = session.history.filter((m) => m.role === 'user').map((m) => m.content);
      await session.close();
      return notes.slice(1);
    };
    expect(await run('Tides follow the moon.')).toEqual([
      '[Subagent "researcher" finished: Tides follow the moon.]',
    ]);
    expect(await run([{ error: new Error('model down') }])).toEqual([
      '[Subagent "researcher" failed: model down]',
    ]);
  });
});

describe('subagents started in a turn', () => {
  it('a subagent can ask the user through the client: it gets the ask_user tool', async () => {
    const researcherModel = mockLanguageModel(['Tides follow the moon.']);
    const { session, rec } = makeSession({
      model: mockLanguageModel([
        [{ toolCall: { name: 'handoff_to_researcher', args: { task: 'tides' }, id: 'h1' } }],
        'I asked our researcher.',
      ]),
      agents: [
        { name: 'main', instructions: 'main', subagents: ['researcher'], transfers: [] },
        { name: 'researcher', instructions: 'research', model: researcherModel, transfers: [] },
      ],
      announceBackgroundResults: false,
    });
    await session.sendText('why are there tides?');
    await rec.waitFor('subagent.notification');
    expect(researcherModel.doGenerateCalls[0].tools?.map((t) => t.name)).toEqual(['ask_user']);
    await session.close();
  });
});

describe('steps of a turn', () => {
  /** A model that calls its tool at every step. */
  const loop = () => mockLanguageModel([[{ toolCall: { name: 'ping', args: {} } }]]);
  const ping = tool({ inputSchema: z.object({}), execute: async () => 'pong' });

  it('a turn takes at most 5 model steps by default; the session’s stopWhen, then the agent’s, replace that', async () => {
    const steps = async (options: Partial<VoiceSessionOptions>, agentStop?: StopCondition<ToolSet>) => {
      const model = loop();
      const { session } = makeSession({
        model,
        agents: [
          { name: 'main', instructions: 'x', tools: { ping }, ...(agentStop ? { stopWhen: agentStop } : {}) },
        ],
        ...options,
      });
      await session.sendText('go');
      await session.close();
      return model.calls.length;
    };
    expect(await steps({})).toBe(5);
    expect(await steps({ stopWhen: stepCountIs(2) })).toBe(2);
    expect(await steps({ stopWhen: stepCountIs(2) }, stepCountIs(3))).toBe(3);
    expect(await steps({ stopWhen: [stepCountIs(4), stepCountIs(9)] })).toBe(4);
  });
});

describe('what the user said in earlier sessions', () => {
  it('a turn waits for the user’s facts to load; the agent’s instructions carry them', async () => {
    let release!: () => void;
    const loaded = new Promise<void>((r) => {
      release = r;
    });
    const store: MemoryStore = {
      load: async () => {
        await loaded;
        return ['lives in Lisbon'];
      },
      save: async () => {},
    };
    const model = mockLanguageModel(['Olá.']);
    const { session, rec } = makeSession({ model, memory: { store } });
    const turn = session.sendText('hi');
    await rec.waitFor('user.text');
    expect(model.calls).toHaveLength(0);
    release();
    expect((await turn).text).toBe('Olá.');
    expect(model.calls[0].prompt[0]).toEqual({
      role: 'system',
      content: 'x\n\nWhat you remember about this user from earlier conversations:\n- lives in Lisbon',
    });
    await session.close();
  });
});

describe('cutting a turn short', () => {
  it('a turn replaced before it reached the model never calls it', async () => {
    const model = mockLanguageModel(['Second.']);
    const { session, rec } = makeSession({ model });
    const first = session.sendText('one');
    const second = session.sendText('two');
    expect(await first).toMatchObject({ interrupted: true, reason: 'interrupted', text: '' });
    expect(await second).toMatchObject({ interrupted: false, text: 'Second.' });
    expect(model.calls).toHaveLength(1);
    expect(userContents(model.calls[0].prompt)).toEqual([['one'], ['two']]);
    // The cut turn ends with turn.interrupted only.
    expect(rec.types(['turn.start', 'turn.interrupted', 'turn.end'])).toEqual([
      'turn.start',
      'turn.interrupted',
      'turn.start',
      'turn.end',
    ]);
    await session.close();
  });

  it('a turn cut while its answer is still spoken keeps what was heard; the model had finished, so no llm.end abort', async () => {
    const answer = 'One. Two three four five six seven eight nine ten eleven twelve.';
    const { session, rec } = makeSession({
      model: mockLanguageModel([answer]),
      audio: {
        vad: new MockVad(),
        stt: new MockStt(),
        tts: new MockTts({ sampleRate: 24000, msPerChar: 40 }),
        inputSampleRate: RATE,
        outputSampleRate: 24000,
        output: { write: () => {} },
      },
    });
    const turn = session.sendText('count');
    await rec.waitFor('llm.end');
    await rec.waitFor('bot.speaking.start');
    session.interrupt('client_request');
    const r = await turn;
    expect(r).toMatchObject({ interrupted: true, reason: 'client_request' });
    // Speaking 64 characters takes 2.5 s: the cut comes before the end of it.
    expect(answer.startsWith(r.text) && r.text.length < answer.length).toBe(true);
    expect(rec.payloads('llm.end').map((p) => p.outcome)).toEqual(['finish']);
    expect(rec.first('assistant.text')).toMatchObject({ text: r.text, interrupted: true });
    expect(rec.types(['turn.interrupted', 'turn.end'])).toEqual(['turn.interrupted']);
    await session.close();
  });
});

describe('stream mode (no agent answers)', () => {
  it('a typed turn records the user’s text and ends at once: no model call, no assistant.text', async () => {
    const model = mockLanguageModel(['never said']);
    const { session, rec } = makeSession({ model, mode: 'stream' });
    const r = await session.sendText('note this');
    expect(r).toEqual({ turnId: expect.any(String), agentName: 'main', text: '', interrupted: false });
    expect(
      rec.types(['turn.start', 'user.text', 'llm.start', 'assistant.text', 'turn.latency', 'turn.end']),
    ).toEqual(['turn.start', 'user.text', 'turn.latency', 'turn.end']);
    expect(rec.first('turn.end')).toEqual({ sessionId: 's', turnId: r.turnId });
    expect(model.calls).toHaveLength(0);
    expect(session.history).toEqual([{ role: 'user', content: 'note this' }]);
    await session.close();
  });
});

describe('a turn that fails part way', () => {
  it('a stream that stalls after a finished step keeps that step and the stalled step’s own partial text, once', async () => {
    const lookup = tool({ inputSchema: z.object({}), execute: async () => 'found' });
    const model = mockLanguageModel([
      [{ text: 'Let me check.' }, { toolCall: { name: 'lookup', args: {}, id: 'l1' } }],
      { parts: [{ text: 'It is' }, { delayMs: 60_000 }, { text: ' never said' }] },
    ]);
    const { session } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
      llmStallTimeoutMs: 100,
    });
    const r = await session.sendText('look it up');
    expect(r.error?.code).toBe('llm_stalled');
    expect(r.text).toBe('Let me check.It is');
    const text = (c: unknown) =>
      typeof c === 'string'
        ? c
        : (c as Array<{ type: string; text?: string }>).map((p) => (p.type === 'text' ? p.text : p.type));
    expect(session.history.map((m) => [m.role, text(m.content)])).toEqual([
      ['user', 'look it up'],
      ['assistant', ['Let me check.', 'tool-call']],
      ['tool', ['tool-result']],
      ['assistant', 'It is'],
    ]);
    await session.close();
  });

  it('a background tool still running from an earlier turn does not keep a stalled stream waiting', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const watch = defineTool({
      inputSchema: z.object({}),
      execution: 'background',
      execute: () => gate.then(() => 'done'),
    });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'watch', args: {}, id: 'bg1' } }],
      'Watching.',
      { parts: [{ text: 'Hello' }, { delayMs: 60_000 }, { text: 'world' }] },
    ]);
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { watch } }],
      announceBackgroundResults: false,
      llmStallTimeoutMs: 100,
    });
    await session.sendText('watch it');
    expect(rec.first('tool.call')).toMatchObject({ id: 'bg1', execution: 'background' });
    const r = await session.sendText('and now?');
    expect(r.error?.code).toBe('llm_stalled');
    release();
    await rec.waitFor('tool.result', (p) => p.toolCallId === 'bg1');
    await session.close();
  });
});
