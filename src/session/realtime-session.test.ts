/**
 * VoiceSession on a realtime model, against the local fake provider servers (real WebSockets on
 * loopback): speech in → audio out with transcripts, barge-in truncation at the heard position,
 * tools, goAway → resume, transfers, survived and fatal provider errors.
 */
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeAll, closeLater, FRAME, gemini, harness, openai } from '../../test/support/realtime-harness.ts';
import { silentLogger } from '../logger.ts';
import type { RealtimeModel } from '../providers/realtime/types.ts';
import { decodePcm } from '../testing/fake-realtime-server.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { MockVad } from '../testing/mock-vad.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { tone } from '../testing/signals.ts';
import type { RealtimeOptions } from './realtime-config.ts';
import { VoiceSession } from './voice-session.ts';

afterEach(closeAll);

describe('VoiceSession on OpenAI Realtime (local fake server)', () => {
  it('speech in → audio out with transcripts, as a cascade turn would publish them', async () => {
    const { model } = await openai({
      replies: [{ userTranscript: 'what is the time', text: 'It is noon.', audioMs: 400 }],
    });
    const { session, rec, frames, speak } = harness(model);
    await session.start();
    expect(rec.types(['session.stateChange', 'session.start']).slice(-2)).toEqual([
      'session.stateChange',
      'session.start',
    ]);
    speak();
    const end = await rec.waitFor('turn.end');
    expect(
      rec.types([
        'user.speech.start',
        'turn.start',
        'user.speech.stop',
        'transcription.final',
        'user.text',
        'llm.start',
        'bot.speaking.start',
        'bot.speaking.stop',
        'assistant.text',
        'turn.latency',
        'turn.end',
      ]),
    ).toEqual([
      'user.speech.start',
      'turn.start',
      'user.speech.stop',
      'transcription.final',
      'user.text',
      'llm.start',
      'bot.speaking.start',
      'bot.speaking.stop',
      'assistant.text',
      'turn.latency',
      'turn.end',
    ]);
    expect(rec.first('user.text')).toMatchObject({
      text: 'what is the time',
      source: 'speech',
      turnId: end.turnId,
    });
    expect(rec.payloads('transcription.interim').at(-1)?.text).toBe('what is the time');
    expect(
      rec
        .payloads('llm.text.delta')
        .map((p) => p.text)
        .join(''),
    ).toBe('It is noon.');
    expect(
      rec
        .payloads('bot.tts.text')
        .map((p) => p.text)
        .join(''),
    ).toBe('It is noon.');
    expect(rec.first('assistant.text')).toMatchObject({ text: 'It is noon.', interrupted: false });
    expect(frames.get(end.turnId)).toBe(20); // 400 ms in 20 ms frames, paced like TTS speech
    expect(rec.first('metrics.usage')).toMatchObject({
      turnId: end.turnId,
      model: 'gpt-realtime',
      // The fake counts a token per four characters: instructions + the user's words in, the answer out.
      usage: { inputTokens: 4 + 4, outputTokens: 3, totalTokens: 11 },
    });
    expect(rec.first('turn.latency')?.kind).toBe('realtime');
    expect(session.history).toEqual([
      { role: 'user', content: 'what is the time' },
      { role: 'assistant', content: 'It is noon.' },
    ]);
  });

  it('barge-in stops playout at once and truncates the item at exactly the audio heard', async () => {
    const { server, model } = await openai({
      replies: [{ text: 'One two three four five six seven eight nine ten.', audioMs: 3000 }, {}],
    });
    const { session, rec, frames, speak } = harness(model);
    await session.start();
    void session.sendText('count to ten');
    const start = await rec.waitFor('bot.speaking.start');
    await rec.waitFor('bot.tts.text');
    while ((frames.get(start.turnId) ?? 0) < 25) await new Promise((r) => setTimeout(r, 10));
    let framesAtInterrupt = -1;
    session.eventBus.subscribe('turn.interrupted', (p) => {
      if (p.turnId === start.turnId) framesAtInterrupt = frames.get(start.turnId) ?? 0;
    });
    speak(200);
    const interrupted = await rec.waitFor('turn.interrupted');
    expect(interrupted).toMatchObject({ turnId: start.turnId, reason: 'user_speaking' });
    const truncate = await server.waitFor('conversation.item.truncate');
    expect(truncate.audio_end_ms).toBe(framesAtInterrupt * 20);
    expect(framesAtInterrupt).toBeGreaterThanOrEqual(25);
    await expect.poll(() => server.truncations.length).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(frames.get(start.turnId)).toBe(framesAtInterrupt); // nothing more played
    const said = rec.payloads('assistant.text').find((p) => p.turnId === start.turnId)!;
    expect(said.interrupted).toBe(true);
    expect('One two three four five six seven eight nine ten.'.startsWith(said.text)).toBe(true);
    expect(said.text.length).toBeLessThan(30);
    expect(session.history.at(-1)).toEqual({ role: 'assistant', content: said.text });
  });

  it('a tool round trip: tool.call → the tool runs → its result goes to the model → the answer is spoken', async () => {
    const { server, model } = await openai({
      replies: [
        {
          userTranscript: 'weather in Paris?',
          toolCall: { name: 'get_weather', args: { city: 'Paris' } },
          text: 'Sunny in Paris.',
          audioMs: 200,
        },
      ],
    });
    const calls: string[] = [];
    const get_weather = tool({
      description: 'Weather for a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return { city, sky: 'sunny' };
      },
    });
    const { session, rec, speak } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { get_weather } }],
    });
    await session.start();
    const declared = (
      server.messages('session.update')[0]!.session as { tools: Array<{ name: string; parameters: unknown }> }
    ).tools;
    expect(declared[0]).toMatchObject({
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    });
    speak();
    const end = await rec.waitFor('turn.end');
    expect(calls).toEqual(['Paris']);
    expect(rec.first('tool.call')).toMatchObject({
      name: 'get_weather',
      args: { city: 'Paris' },
      turnId: end.turnId,
    });
    expect(rec.first('tool.result')).toMatchObject({
      status: 'success',
      result: { city: 'Paris', sky: 'sunny' },
    });
    const output = server
      .messages('conversation.item.create')
      .find((m) => (m.item as { type: string }).type === 'function_call_output');
    expect(JSON.parse((output!.item as { output: string }).output)).toEqual({ city: 'Paris', sky: 'sunny' });
    expect(rec.first('assistant.text')?.text).toBe('Sunny in Paris.');
  });

  it('a call to an unknown tool answers the model with an error and warns; the turn goes on', async () => {
    const { server, model } = await openai({
      replies: [{ toolCall: { name: 'launch_rockets', args: {} }, text: 'I cannot do that.', audioMs: 200 }],
    });
    const { session, rec } = harness(model);
    await session.start();
    const result = await session.sendText('launch');
    expect(result).toMatchObject({ text: 'I cannot do that.', interrupted: false });
    expect(rec.first('tool.result')).toMatchObject({ status: 'error', name: 'launch_rockets' });
    // Named after the tool, as a cascade session's tool warnings are (`tool:<name>`).
    expect(rec.payloads('error').map((e) => [e.error.code, e.severity, e.component])).toEqual([
      ['unknown_tool', 'warn', 'tool:launch_rockets'],
    ]);
    const output = server
      .messages('conversation.item.create')
      .find((m) => (m.item as { type: string }).type === 'function_call_output');
    expect((output!.item as { output: string }).output).toContain('unknown tool');
  });

  it('a transfer applies the new agent with a session update; onAgentTransfer measures it', async () => {
    const { server, model } = await openai({
      replies: [
        {
          toolCall: { name: 'transfer_to_agent', args: { agent: 'billing' } },
          text: 'Billing here.',
          audioMs: 200,
        },
      ],
    });
    const transfers: Array<{ toAgent: string; reconnectMs: number }> = [];
    const session = new VoiceSession({
      userId: 'u1',
      agents: [
        { name: 'front', instructions: 'You route.', transfers: ['billing'] },
        { name: 'billing', instructions: 'You do billing.' },
      ],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      realtime: { model },
      hooks: {
        onAgentTransfer: (e) => {
          transfers.push(e);
        },
      },
    });
    closeLater(() => session.close());
    const rec = new EventRecorder(session.eventBus);
    await session.start();
    const result = await session.sendText('I have a billing question');
    expect(result.text).toBe('Billing here.');
    expect(session.currentAgent).toBe('billing');
    const updates = server
      .messages('session.update')
      .map((m) => (m.session as { instructions: string }).instructions);
    expect(updates).toEqual(['You route.', 'You do billing.']);
    expect(rec.types(['agent.exit', 'agent.transfer', 'agent.enter']).slice(-3)).toEqual([
      'agent.exit',
      'agent.transfer',
      'agent.enter',
    ]);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.toAgent).toBe('billing');
    expect(transfers[0]!.reconnectMs).toBeGreaterThanOrEqual(0);
  });

  it('a provider error is survived; a dropped socket reconnects and replays the conversation', async () => {
    const { server, model } = await openai({
      replies: [
        { text: 'First answer.', audioMs: 200 },
        { text: 'Second answer.', audioMs: 200 },
      ],
    });
    const { session, rec } = harness(model);
    await session.start();
    await session.sendText('first');
    server.sendError('rate_limit_exceeded', 'Slow down');
    await rec.waitFor('error');
    server.closeConnections(1011, 'internal');
    await rec.waitFor('session.stateChange', (p) => p.toState === 'reconnecting');
    await rec.waitFor(
      'session.stateChange',
      (p) => p.toState === 'active' && rec.types('session.stateChange').length > 3,
    );
    const second = await session.sendText('second');
    expect(second.text).toBe('Second answer.');
    expect(server.connectionCount).toBe(2);
    const replayed = server.received
      .filter((r) => r.connection === 2 && r.message.type === 'conversation.item.create')
      .map((r) => (r.message.item as { content: Array<{ text: string }> }).content[0]!.text);
    expect(replayed.slice(0, 2)).toEqual(['first', 'First answer.']);
    expect(
      rec.payloads('error').map((e) => [e.error.details?.providerCode ?? e.error.code, e.severity]),
    ).toEqual([
      ['rate_limit_exceeded', 'warn'],
      ['realtime_closed', 'warn'],
    ]);
    expect(session.state).toBe('active');
  });

  it('after a reconnect the user’s audio goes to the new connection and is heard', async () => {
    const { server, model } = await openai({
      replies: [{ userTranscript: 'hello again', text: 'Hi.', audioMs: 100 }],
    });
    const { session, rec, speak } = harness(model);
    await session.start();
    server.closeConnections(1011, 'internal');
    await rec.waitFor('session.stateChange', (p) => p.fromState === 'reconnecting' && p.toState === 'active');
    speak();
    expect(await rec.waitFor('transcription.final')).toMatchObject({ text: 'hello again' });
    expect(
      server.received.some((r) => r.connection === 2 && r.message.type === 'input_audio_buffer.append'),
    ).toBe(true);
  });

  it('a socket closed mid-response: what arrived plays, the turn ends, the session reconnects and goes on', async () => {
    const { server, model } = await openai({
      speed: 2,
      replies: [
        { text: 'A long answer cut by the network.', audioMs: 3000 },
        { text: 'Back.', audioMs: 100 },
      ],
    });
    const { session, rec } = harness(model);
    await session.start();
    const first = session.sendText('talk');
    await rec.waitFor('bot.speaking.start');
    server.closeConnections(1011, 'server error');
    const cut = await first;
    expect(cut.interrupted).toBe(false);
    expect(rec.types(['turn.end'])).toHaveLength(1);
    await rec.waitFor('session.stateChange', (p) => p.fromState === 'reconnecting' && p.toState === 'active');
    expect((await session.sendText('again')).text).toBe('Back.');
    expect(rec.payloads('error').map((e) => [e.error.code, e.severity])).toEqual([
      ['realtime_closed', 'warn'],
    ]);
  });

  it('a fatal provider error (invalid key) closes the session with a fatal error', async () => {
    const { server, model } = await openai();
    const { session, rec } = harness(model);
    await session.start();
    server.sendError('invalid_api_key', 'Incorrect API key provided');
    const close = await rec.waitFor('session.close');
    expect(close.reason).toBe('realtime_failed');
    expect(rec.payloads('error').at(-1)).toMatchObject({ severity: 'fatal', component: 'realtime' });
    expect(session.state).toBe('closed');
  });

  it('three failed reconnections in a row are fatal', async () => {
    const { server, model } = await openai();
    const { session, rec } = harness(model);
    await session.start();
    server.closeConnections(1011, 'gone');
    server.apiKey; // the key still matches, but the server now refuses upgrades with 503
    (server as unknown as { authorize: () => number }).authorize = () => 503;
    const close = await rec.waitFor('session.close', () => true, 8000);
    expect(close.reason).toBe('realtime_failed');
    const fatal = rec.payloads('error').find((e) => e.severity === 'fatal')!;
    expect(fatal.error.code).toBe('realtime_reconnect_failed');
    // The last attempt's failure is the cause.
    expect(fatal.error.cause).toBeInstanceOf(Error);
    expect(fatal.error.message).toContain((fatal.error.cause as Error).message);
    expect(server.rejected).toBe(3);
  });

  it.each([
    ['an Error', new Error('no route'), 'no route'],
    ['no error value at all', undefined, 'undefined'],
  ])(
    'a first connect rejected with %s fails the session: fatal realtime_connect_failed',
    async (_what, reason, message) => {
      const { model: real } = await openai();
      const model: RealtimeModel = { ...real, connect: () => Promise.reject(reason) };
      const { session, rec } = harness(model);
      await session.start();
      const fatal = await rec.waitFor('error', (e) => e.severity === 'fatal');
      expect(fatal.error).toMatchObject({ code: 'realtime_connect_failed', message });
      expect(fatal.error.cause).toBe(reason);
      expect((await rec.waitFor('session.close')).reason).toBe('realtime_failed');
    },
  );

  it('the backoff between reconnect attempts: initialDelayMs after the first failure, doubled after the second', async () => {
    const { server, model: real } = await openai();
    let refuse = false;
    let connects = 0;
    const model: RealtimeModel = {
      specificationVersion: real.specificationVersion,
      provider: real.provider,
      modelId: real.modelId,
      inputSampleRate: real.inputSampleRate,
      outputSampleRate: real.outputSampleRate,
      capabilities: real.capabilities,
      connect: (config, options) => {
        connects++;
        return refuse ? Promise.reject(new Error('refused by the test')) : real.connect(config, options);
      },
    };
    const { session, rec } = harness(model, {
      realtime: { reconnect: { initialDelayMs: 100, maxDelayMs: 10_000, maxFailures: 3 } },
    });
    await session.start();
    // At each failure, a timer is set just before the backoff's; Node runs timers by due time, so the
    // next attempt has been made by then only if its delay is under the test's.
    const seen: number[] = [];
    const checked = new Promise<void>((resolve) => {
      const delays = [150, 300]; // the backoff is 100 ms, then 200 ms
      session.eventBus.subscribe('error', (e) => {
        if (e.error.message !== 'refused by the test') return;
        const wait = delays.shift();
        if (wait === undefined) return;
        setTimeout(() => {
          seen.push(connects);
          if (seen.length === 2) resolve();
        }, wait);
      });
    });
    refuse = true;
    server.closeConnections(1011, 'gone');
    await checked;
    // 1 the session's own, 2 the reconnect at once, 3 after 100 ms, 4 after 200 ms more.
    expect(seen).toEqual([3, 4]);
    expect((await rec.waitFor('session.close', () => true, 8000)).reason).toBe('realtime_failed');
  });
});

describe('VoiceSession on Gemini Live (local fake server)', () => {
  it('speech in → audio out; goAway → resume with the newest handle; the conversation continues', async () => {
    const { server, model } = await gemini({
      replies: [
        { userTranscript: 'hello', text: 'Hi there.', audioMs: 200 },
        { text: 'Still here.', audioMs: 200 },
      ],
    });
    const { session, rec, speak } = harness(model);
    await session.start();
    speak();
    await rec.waitFor('turn.end');
    expect(rec.first('user.text')).toMatchObject({ text: 'hello', source: 'speech' });
    await new Promise((r) => setTimeout(r, 20)); // the handle follows turnComplete
    server.goAway(50_000);
    expect(await rec.waitFor('session.goaway')).toMatchObject({ timeLeft: 50_000 });
    const resumed = await rec.waitFor('session.resume');
    expect(resumed.handle).toBe('handle-1-1');
    expect((server.setups[1]!.sessionResumption as { handle: string }).handle).toBe('handle-1-1');
    const second = await session.sendText('are you there?');
    expect(second.text).toBe('Still here.');
    expect(server.conversationTurns).toEqual([
      'user: hello',
      'model: Hi there.',
      'user: are you there?',
      'model: Still here.',
    ]);
  });

  it('an expired handle: the resume is refused (warn) and a fresh connection replays the conversation', async () => {
    const { server, model } = await gemini({
      replies: [
        { text: 'One.', audioMs: 200 },
        { text: 'Two.', audioMs: 200 },
      ],
    });
    const { session, rec } = harness(model);
    await session.start();
    await session.sendText('first');
    await new Promise((r) => setTimeout(r, 20));
    server.expireHandles();
    server.closeConnections(1011, 'internal');
    await rec.waitFor('error', (e) => e.error.code === 'realtime_resume_rejected');
    await rec.waitFor('session.stateChange', (p) => p.fromState === 'reconnecting' && p.toState === 'active');
    const second = await session.sendText('second');
    expect(second.text).toBe('Two.');
    const replayMessage = server.received.find(
      (r) => r.connection === 3 && 'clientContent' in r.message,
    )!.message;
    const replay = replayMessage.clientContent as {
      turns: Array<{ role: string; parts: Array<{ text: string }> }>;
      turnComplete: boolean;
    };
    expect(replay.turnComplete).toBe(false);
    expect(server.setups.at(-1)!.sessionResumption).toEqual({});
    expect(replay.turns.map((t) => `${t.role}: ${t.parts[0]!.text}`)).toEqual(['user: first', 'model: One.']);
  });

  it('a reconnect refused at connect (HTTP 503) keeps the handle: the next attempt resumes with it', async () => {
    const { server, model } = await gemini({ replies: [{ text: 'One.', audioMs: 200 }] });
    const { session, rec } = harness(model);
    await session.start();
    // The handle follows turnComplete on the wire, ahead of the 200 ms the answer takes to play.
    await session.sendText('first');
    const authorize = (server as unknown as { authorize: (req: unknown) => number }).authorize.bind(server);
    let refusals = 1;
    (server as unknown as { authorize: (req: unknown) => number }).authorize = (req) =>
      refusals-- > 0 ? 503 : authorize(req);
    server.closeConnections(1011, 'internal');
    expect(await rec.waitFor('session.resume')).toMatchObject({ handle: 'handle-1-1' });
    expect(server.rejected).toBe(1);
    expect((server.setups.at(-1)!.sessionResumption as { handle: string }).handle).toBe('handle-1-1');
    // A failed connect is not a refused resumption: no realtime_resume_rejected.
    expect(rec.payloads('error').map((e) => e.error.code)).not.toContain('realtime_resume_rejected');
    expect(rec.payloads('error').map((e) => e.error.code)).toContain('realtime_unavailable');
  });

  it('after a goAway the session reconnects once: the goAway deadline that comes after the reconnect does nothing', async () => {
    // A: idle at its goAway, so it reconnects at once; its deadline (500 ms later) then finds it done.
    const a = await gemini();
    const first = harness(a.model);
    await first.session.start();
    a.server.goAway(2500);
    await first.rec.waitFor(
      'session.stateChange',
      (p) => p.fromState === 'reconnecting' && p.toState === 'active',
    );
    // B: answering at its goAway, so it waits for its deadline, set after A's with the same delay:
    // Node runs it after A's, so once B reconnects A's deadline has come and gone.
    const b = await gemini({ replies: [{ text: 'A long answer.', audioMs: 5000 }], speed: 1 });
    const second = harness(b.model);
    await second.session.start();
    void second.session.sendText('tell me').catch(() => undefined);
    await second.rec.waitFor('llm.start');
    b.server.goAway(2500);
    await second.rec.waitFor('session.stateChange', (p) => p.toState === 'reconnecting', 3000);
    expect(
      first.rec.payloads('session.stateChange').filter((p) => p.toState === 'reconnecting'),
    ).toHaveLength(1);
    expect(a.server.connectionCount).toBe(2);
  });

  it('a goAway whose deadline passes during a tool call: no reconnect until the tool is answered and the turn ends', async () => {
    const { server, model } = await gemini({
      replies: [{ toolCall: { name: 'lookup', args: {} }, text: 'Found it.', audioMs: 200 }],
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lookup = tool({
      description: 'Looks something up',
      inputSchema: z.object({}),
      execute: async () => {
        await gate;
        return { found: true };
      },
    });
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
    });
    await session.start();
    const answer = session.sendText('look it up');
    await rec.waitFor('tool.call');
    // 1 s left: the deadline (2 s before the end) is already past, so its timer fires at once.
    server.goAway(1000);
    await rec.waitFor('session.goaway');
    // A timer of the same delay set after the deadline's runs after it.
    await new Promise((r) => setTimeout(r, 0));
    expect(rec.payloads('session.stateChange').map((p) => p.toState)).not.toContain('reconnecting');
    release();
    expect(await answer).toMatchObject({ text: 'Found it.', interrupted: false });
    // The result went to the connection that asked for it; the reconnect follows the end of the turn.
    const response = server.received.find((r) => 'toolResponse' in r.message)!;
    expect(response.connection).toBe(1);
    await rec.waitFor('session.stateChange', (p) => p.fromState === 'reconnecting' && p.toState === 'active');
    const order = rec.events
      .filter((e) => e.type === 'turn.end' || e.type === 'session.stateChange')
      .map((e) => (e.type === 'turn.end' ? 'turn.end' : (e.payload as { toState: string }).toState));
    expect(order).toEqual(['connecting', 'active', 'turn.end', 'reconnecting', 'active']);
    expect(server.connectionCount).toBe(2);
  });

  it('a goAway while the model answers, its deadline far off: the reconnect waits for the end of the turn', async () => {
    // 800 ms of audio sent at twice real time: the goAway, sent as the answer starts, comes during it.
    const { server, model } = await gemini({ replies: [{ text: 'Hello there.', audioMs: 800 }], speed: 2 });
    const { session, rec } = harness(model);
    await session.start();
    const off = session.eventBus.subscribe('llm.start', () => {
      off();
      server.goAway(60_000);
    });
    const answer = session.sendText('hi');
    await rec.waitFor('session.goaway');
    expect(rec.payloads('session.stateChange').map((p) => p.toState)).not.toContain('reconnecting');
    expect(await answer).toMatchObject({ text: 'Hello there.', interrupted: false });
    await rec.waitFor('session.stateChange', (p) => p.fromState === 'reconnecting' && p.toState === 'active');
    const order = rec.events
      .filter((e) => e.type === 'turn.end' || e.type === 'session.stateChange')
      .map((e) => (e.type === 'turn.end' ? 'turn.end' : (e.payload as { toState: string }).toState));
    expect(order).toEqual(['connecting', 'active', 'turn.end', 'reconnecting', 'active']);
  });

  it('user audio pushed while the connection opens is held as a copy: the caller may reuse its buffer', async () => {
    const { server, model } = await gemini();
    const { session } = harness(model);
    // 16 kHz is Gemini's own input rate: the frame is not resampled, so nothing else copies it.
    const frame = new Int16Array(320).fill(1234);
    session.pushAudio(frame, 16000); // starts the session; its connection is not open yet
    frame.fill(-5); // the caller's next frame goes into the same buffer
    await session.start();
    const m = await server.waitFor('realtimeInput', (x) => 'audio' in (x.realtimeInput as object));
    const sent = decodePcm((m.realtimeInput as { audio: { data: string } }).audio.data);
    expect(sent).toEqual(new Int16Array(320).fill(1234));
  });

  it('the model interrupted by the user: playout stops at once, the turn is interrupted', async () => {
    const { model } = await gemini({
      speed: 2,
      replies: [{ text: 'A long story that goes on and on.', audioMs: 4000 }, {}],
    });
    const { session, rec, frames, speak } = harness(model);
    await session.start();
    void session.sendText('tell me a story');
    const start = await rec.waitFor('bot.speaking.start');
    speak(200);
    const interrupted = await rec.waitFor('turn.interrupted');
    expect(interrupted.turnId).toBe(start.turnId);
    const played = frames.get(start.turnId)!;
    await new Promise((r) => setTimeout(r, 100));
    expect(frames.get(start.turnId)).toBe(played);
    expect(played * 20).toBeLessThan(4000);
  });

  it('an `interrupted` while the turn waits for its answer (nothing said, nothing playing) does not cut it', async () => {
    const { server, model } = await gemini({ replies: [{ text: 'Hi there.', audioMs: 200 }] });
    const { session, rec } = harness(model);
    await session.start();
    // Written as the turn begins, before the fake reads the text, so it arrives ahead of the answer
    // (a late one of an earlier response, as the provider may send).
    const off = session.eventBus.subscribe('user.text', () => {
      off();
      server.sendRaw(JSON.stringify({ serverContent: { interrupted: true } }));
    });
    const answer = session.sendText('hello');
    expect(await answer).toMatchObject({ text: 'Hi there.', interrupted: false });
    expect(rec.types(['turn.interrupted', 'turn.end'])).toEqual(['turn.end']);
  });

  it('a transfer reconnects with the new agent setup on the resumed session', async () => {
    const { server, model } = await gemini({
      replies: [
        { text: 'Hello.', audioMs: 200 },
        { toolCall: { name: 'transfer_to_agent', args: { agent: 'billing' } } },
        { text: 'Billing here.', audioMs: 200 },
      ],
    });
    const transfers: number[] = [];
    const session = new VoiceSession({
      userId: 'u1',
      agents: [
        { name: 'front', instructions: 'You route.', transfers: ['billing'] },
        { name: 'billing', instructions: 'You do billing.', voice: 'Kore' },
      ],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      realtime: { model },
      hooks: {
        onAgentTransfer: (e) => {
          transfers.push(e.reconnectMs);
        },
      },
    });
    closeLater(() => session.close());
    const rec = new EventRecorder(session.eventBus);
    await session.start();
    await session.sendText('hi');
    await new Promise((r) => setTimeout(r, 20));
    void session.sendText('billing please');
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    await rec.waitFor('assistant.text', (p) => p.text === 'Billing here.');
    const setup = server.setups.at(-1)!;
    expect((setup.systemInstruction as { parts: Array<{ text: string }> }).parts[0]!.text).toBe(
      'You do billing.',
    );
    expect(setup.sessionResumption).toEqual({ handle: 'handle-1-1' });
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toBeGreaterThan(0);
  });

  it('a provider tool-call cancellation cancels the running tool (tool.cancel)', async () => {
    const { server, model } = await gemini({ replies: [{ toolCall: { name: 'slow', args: {} } }] });
    const slow = tool({
      description: 'slow',
      inputSchema: z.object({}),
      execute: (_a, { abortSignal }) =>
        new Promise((_r, reject) =>
          abortSignal?.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
    });
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { slow } }],
    });
    await session.start();
    void session.sendText('go');
    const call = await rec.waitFor('tool.call');
    server.sendRaw(JSON.stringify({ toolCallCancellation: { ids: [call.id] } }));
    const cancel = await rec.waitFor('tool.cancel');
    expect(cancel.toolCallIds).toEqual([call.id]);
    expect(rec.first('tool.result')).toMatchObject({ toolCallId: call.id, status: 'cancelled' });
  });
});

describe('VoiceSession on a realtime model: local turn detection, connection cap, compaction', () => {
  const localHarness = (model: RealtimeModel, extra: Partial<RealtimeOptions> = {}) => {
    const frames = new Map<string, number>();
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      realtime: { model, turnDetection: 'local', reconnect: { initialDelayMs: 20 }, ...extra },
      audio: {
        vad: new MockVad({ frameSamples: 320 }),
        vadOptions: { minSpeechMs: 60, minSilenceMs: 200 },
        inputSampleRate: 16000,
        outputSampleRate: 24000,
        output: { write: (_f, info) => frames.set(info.turnId, (frames.get(info.turnId) ?? 0) + 1) },
      },
    });
    closeLater(() => session.close());
    return { session, rec: new EventRecorder(session.eventBus), frames };
  };
  it('local turn detection without a VAD model is refused: ConfigError vad_required', async () => {
    const { model } = await openai({ replies: [] });
    const options = { userId: 'u1', agents: [{ name: 'main', instructions: 'x' }], logger: silentLogger };
    expect(
      () =>
        new VoiceSession({
          ...options,
          model: mockLanguageModel(['unused']),
          realtime: { model, turnDetection: 'local' },
          audio: { inputSampleRate: 16000, outputSampleRate: 24000 },
        }),
    ).toThrow(
      expect.objectContaining({
        code: 'vad_required',
        message: "realtime.turnDetection 'local' needs a VAD model (audio.vad)",
      }),
    );
  });
  const say = (session: VoiceSession) => {
    const speech = tone({ sampleRate: 16000, samples: 6400 });
    for (let i = 0; i < speech.length; i += FRAME) session.pushAudio(speech.subarray(i, i + FRAME), 16000);
    for (let i = 0; i < 25; i++) session.pushAudio(new Int16Array(FRAME), 16000);
  };

  it('Gemini, local VAD: automatic detection disabled; activityStart / activityEnd follow the local VAD', async () => {
    const { server, model } = await gemini({ replies: [{ text: 'Heard you.', audioMs: 200 }] });
    const { session, rec } = localHarness(model);
    await session.start();
    expect(server.setups[0]!.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true } });
    say(session);
    await session.audioIdle();
    const end = await rec.waitFor('turn.end');
    const kinds = server.messages('realtimeInput').map((m) => Object.keys(m.realtimeInput as object)[0]);
    expect(kinds.filter((k) => k !== 'audio')).toEqual(['activityStart', 'activityEnd']);
    expect(rec.types(['user.speech.start', 'turn.start', 'user.speech.stop', 'turn.end'])).toEqual([
      'user.speech.start',
      'turn.start',
      'user.speech.stop',
      'turn.end',
    ]);
    expect(rec.payloads('assistant.text').find((p) => p.turnId === end.turnId)?.text).toBe('Heard you.');
  });

  it('OpenAI, local VAD: turn_detection null; the local VAD commits and asks for the response', async () => {
    const { server, model } = await openai({ replies: [{ text: 'Got it.', audioMs: 200 }] });
    const { session, rec } = localHarness(model);
    await session.start();
    const td = (
      server.messages('session.update')[0]!.session as { audio: { input: { turn_detection: unknown } } }
    ).audio.input;
    expect(td.turn_detection).toBeNull();
    say(session);
    await session.audioIdle();
    await rec.waitFor('turn.end');
    expect(server.messages('input_audio_buffer.commit')).toHaveLength(1);
    expect(server.messages('response.create')).toHaveLength(1);
    expect(rec.payloads('assistant.text').at(-1)?.text).toBe('Got it.');
  });

  it('a session closed before its connection cap hears no goaway: the cap timer goes with the connection', async () => {
    const { model } = await openai();
    const realtime = { maxConnectionMs: 300, goAwayLeadMs: 200 }; // goaway 100 ms after connecting
    const closed = harness(model, { realtime });
    await closed.session.start();
    await closed.session.close();
    // A session connected after it, with the same cap: its goaway comes after the closed one's would have.
    const open = harness(model, { realtime });
    await open.session.start();
    expect(await open.rec.waitFor('session.goaway', () => true, 3000)).toMatchObject({ timeLeft: 200 });
    expect(closed.rec.types(['session.goaway'])).toEqual([]);
  });

  it('ahead of the connection cap: session.goaway, then a reconnect that replays the conversation', async () => {
    const { server, model } = await openai({
      replies: [
        { text: 'One.', audioMs: 100 },
        { text: 'Two.', audioMs: 100 },
      ],
    });
    const { session, rec } = harness(model, { realtime: { maxConnectionMs: 1500, goAwayLeadMs: 1000 } });
    await session.start();
    await session.sendText('first');
    const goaway = await rec.waitFor('session.goaway', () => true, 3000);
    expect(goaway.timeLeft).toBe(1000);
    await expect.poll(() => server.connectionCount, { timeout: 3000 }).toBe(2);
    const second = await session.sendText('second');
    expect(second.text).toBe('Two.');
    const replayed = server.received
      .filter((r) => r.connection === 2 && r.message.type === 'conversation.item.create')
      .map((r) => (r.message.item as { content: Array<{ text: string }> }).content[0]!.text);
    expect(replayed.slice(0, 2)).toEqual(['first', 'One.']);
  });

  it('a replay over the budget leaves the oldest items out and publishes context.compact', async () => {
    const { server, model } = await openai({
      replies: [
        { text: 'A.', audioMs: 100 },
        { text: 'B.', audioMs: 100 },
      ],
    });
    const { session, rec } = harness(model, { realtime: { replayMaxItems: 3 } });
    await session.start();
    await session.sendText('one');
    await session.sendText('two');
    server.closeConnections(1011, 'internal');
    const compact = await rec.waitFor('context.compact');
    expect(compact.removedItems).toBe(1);
    await expect.poll(() => server.connectionCount).toBe(2);
    await rec.waitFor('session.stateChange', (p) => p.fromState === 'reconnecting' && p.toState === 'active');
    const replayed = server.received
      .filter((r) => r.connection === 2 && r.message.type === 'conversation.item.create')
      .map((r) => (r.message.item as { content: Array<{ text: string }> }).content[0]!.text);
    expect(replayed).toEqual(['A.', 'two', 'B.']);
  });
});
