import { tool } from 'ai';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logger.ts';
import { lastUserText, mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { VoiceSession } from './voice-session.ts';

describe('interruption by new user input', () => {
  it('follows the ordering rule: llm.end abort → assistant.text interrupted → turn.interrupted → next turn.start', async () => {
    const model = mockLanguageModel([
      { parts: [{ text: 'one two three four five six seven eight nine ten' }], chunkDelayMs: 20 },
      'Second answer.',
    ]);
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model,
      logger: silentLogger,
    });
    const rec = new EventRecorder(session.eventBus);
    const first = session.sendText('tell me a long story');
    await rec.waitFor('llm.text.delta', (p) => p.text.includes('three'));
    const second = session.sendText('stop, something else');
    const r1 = await first;
    const r2 = await second;
    expect(r1.interrupted).toBe(true);
    expect(r1.reason).toBe('interrupted');
    expect(r2).toMatchObject({ interrupted: false, text: 'Second answer.' });

    const t1 = r1.turnId;
    const seq = rec.events
      .filter((e) =>
        ['llm.end', 'assistant.text', 'turn.interrupted', 'turn.start', 'turn.end'].includes(e.type),
      )
      .map((e) => `${e.type}:${(e.payload as { turnId: string }).turnId === t1 ? 'T1' : 'T2'}`);
    expect(seq).toEqual([
      'turn.start:T1',
      'llm.end:T1',
      'assistant.text:T1',
      'turn.interrupted:T1',
      'turn.start:T2',
      'llm.end:T2',
      'assistant.text:T2',
      'turn.end:T2',
    ]);
    expect(rec.first('llm.end')).toMatchObject({ turnId: t1, outcome: 'abort' });
    // nothing of turn 1 after its turn.interrupted (late deltas are dropped)
    const cut = rec.events.findIndex((e) => e.type === 'turn.interrupted');
    expect(rec.events.slice(cut + 1).filter((e) => (e.payload as { turnId?: string }).turnId === t1)).toEqual(
      [],
    );
    // history keeps only the text already streamed ("heard") for turn 1
    const heard = rec.payloads('assistant.text')[0].text;
    expect(heard.startsWith('one two three')).toBe(true);
    expect(heard).not.toContain('ten');
    expect(session.history.map((m) => [m.role, typeof m.content === 'string' ? m.content : 'parts'])).toEqual(
      [
        ['user', 'tell me a long story'],
        ['assistant', heard],
        ['user', 'stop, something else'],
        ['assistant', 'parts'],
      ],
    );
  });

  it('cancels running inline tools: tool.cancel and tool.result cancelled come before turn.interrupted; the tool sees its abort', async () => {
    let toolSignal: AbortSignal | undefined;
    const slow = tool({
      inputSchema: z.object({}),
      execute: (_i, { abortSignal }) =>
        new Promise((resolve) => {
          toolSignal = abortSignal;
          setTimeout(() => resolve('done'), 5000);
        }),
    });
    const model = mockLanguageModel([[{ toolCall: { name: 'slow', args: {}, id: 'c1' } }], 'ok']);
    const onToolResult = vi.fn();
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x', tools: { slow } }],
      model,
      logger: silentLogger,
      hooks: { onToolResult },
    });
    const rec = new EventRecorder(session.eventBus);
    const first = session.sendText('run it');
    await rec.waitFor('tool.call');
    session.interrupt('client_request');
    const r = await first;
    expect(r).toMatchObject({ interrupted: true, reason: 'client_request' });
    expect(rec.types(['tool.call', 'tool.cancel', 'tool.result', 'turn.interrupted'])).toEqual([
      'tool.call',
      'tool.cancel',
      'tool.result',
      'turn.interrupted',
    ]);
    expect(rec.first('tool.cancel')).toEqual({ sessionId: 's', toolCallIds: ['c1'], turnId: r.turnId });
    expect(rec.first('tool.result')).toMatchObject({ toolCallId: 'c1', status: 'cancelled' });
    expect(rec.first('turn.interrupted')).toEqual({
      sessionId: 's',
      turnId: r.turnId,
      reason: 'client_request',
    });
    expect(toolSignal?.aborted).toBe(true);
    expect(onToolResult).toHaveBeenCalledWith(
      expect.objectContaining({ toolCallId: 'c1', status: 'cancelled' }),
    );
    // the dangling tool call is not kept in history (no result to pair with)
    expect(session.history.map((m) => m.role)).toEqual(['user']);
  });

  it('interrupt() with no turn running is a no-op', () => {
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['x']),
      logger: silentLogger,
    });
    const rec = new EventRecorder(session.eventBus);
    session.interrupt();
    expect(rec.types()).toEqual([]);
  });
});

describe('agents: transfer and handoff', () => {
  const agents = [
    { name: 'front', instructions: 'You greet callers.', description: 'greets' },
    { name: 'billing', instructions: 'You handle invoices.', description: 'invoices' },
  ];

  it('the transfer tool moves the conversation: agent.exit → agent.transfer → agent.enter; the new agent answers with the history', async () => {
    const frontModel = mockLanguageModel([
      [{ toolCall: { name: 'transfer_to_agent', args: { agent: 'billing', reason: 'invoice' }, id: 't1' } }],
    ]);
    const billingModel = mockLanguageModel([(o) => `Billing here. You said: ${lastUserText(o)}`]);
    const onAgentTransfer = vi.fn();
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [
        { ...agents[0], model: frontModel },
        { ...agents[1], model: billingModel },
      ],
      model: frontModel,
      logger: silentLogger,
      hooks: { onAgentTransfer },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.start();
    const r = await session.sendText('question about my invoice');
    expect(r.text).toBe('Billing here. You said: question about my invoice');
    expect(r.agentName).toBe('billing');
    expect(session.currentAgent).toBe('billing');
    expect(
      rec.events
        .filter((e) => e.type.startsWith('agent.') || e.type === 'session.stateChange')
        .map((e) => [e.type, e.payload]),
    ).toEqual([
      ['session.stateChange', { sessionId: 's', fromState: 'created', toState: 'connecting' }],
      ['session.stateChange', { sessionId: 's', fromState: 'connecting', toState: 'active' }],
      ['agent.enter', { sessionId: 's', agentName: 'front' }],
      ['session.stateChange', { sessionId: 's', fromState: 'active', toState: 'transferring' }],
      ['agent.exit', { sessionId: 's', agentName: 'front' }],
      ['agent.transfer', { sessionId: 's', fromAgent: 'front', toAgent: 'billing', reason: 'invoice' }],
      ['session.stateChange', { sessionId: 's', fromState: 'transferring', toState: 'active' }],
      ['agent.enter', { sessionId: 's', agentName: 'billing' }],
    ]);
    expect(onAgentTransfer).toHaveBeenCalledWith({
      sessionId: 's',
      fromAgent: 'front',
      toAgent: 'billing',
      reconnectMs: expect.any(Number),
    });
    // billing got its own instructions and the conversation so far, including the transfer call
    const prompt = billingModel.calls[0].prompt;
    expect(prompt[0]).toEqual({ role: 'system', content: 'You handle invoices.' });
    expect(JSON.stringify(prompt)).toContain('transfer_to_agent');
    expect(rec.first('tool.result')).toMatchObject({
      toolCallId: 't1',
      status: 'success',
      result: { transferred: true, to: 'billing' },
    });
  });

  it('a transfer to the current agent or an unknown one is refused with a typed error', async () => {
    const model = mockLanguageModel(['hi']);
    const session = new VoiceSession({ userId: 'u', agents, model, logger: silentLogger });
    await session.start();
    expect(() => session.transferTo('front')).toThrowError(
      expect.objectContaining({ code: 'transfer_to_self' }),
    );
    expect(() => session.transferTo('nobody')).toThrowError(
      expect.objectContaining({ code: 'unknown_agent' }),
    );
    session.transferTo('billing');
    expect(session.currentAgent).toBe('billing');
    expect(() => new VoiceSession({ userId: 'u', agents, model, initialAgent: 'ghost' })).toThrowError(
      expect.objectContaining({ code: 'unknown_agent' }),
    );
    expect(() => new VoiceSession({ userId: 'u', agents: [...agents, agents[0]], model })).toThrowError(
      expect.objectContaining({ code: 'duplicate_agent' }),
    );
  });

  it('a handoff runs a subagent in the background with its own steps while the main agent keeps talking', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const lookup = tool({
      inputSchema: z.object({ q: z.string() }),
      execute: async ({ q }) => {
        await gate;
        return `facts about ${q}`;
      },
    });
    const researcherModel = mockLanguageModel([
      [{ toolCall: { name: 'lookup', args: { q: 'tides' }, id: 'r1' } }],
      'Tides follow the moon.',
    ]);
    const mainModel = mockLanguageModel([
      [{ toolCall: { name: 'handoff_to_researcher', args: { task: 'research tides' }, id: 'h1' } }],
      'I asked our researcher; meanwhile, anything else?',
      'Sure, it is sunny.',
      'The researcher says: Tides follow the moon.',
    ]);
    const onSubagentStep = vi.fn();
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [
        { name: 'main', instructions: 'main', subagents: ['researcher'], transfers: [] },
        {
          name: 'researcher',
          instructions: 'research',
          model: researcherModel,
          tools: { lookup },
          transfers: [],
        },
      ],
      model: mainModel,
      logger: silentLogger,
      hooks: { onSubagentStep },
    });
    const rec = new EventRecorder(session.eventBus);
    const r1 = await session.sendText('why are there tides?');
    expect(r1.text).toBe('I asked our researcher; meanwhile, anything else?');
    expect(rec.first('agent.handoff')).toEqual({
      sessionId: 's',
      agentName: 'main',
      subagentName: 'researcher',
      toolCallId: 'h1',
    });
    const r2 = await session.sendText('what is the weather?');
    expect(r2.text).toBe('Sure, it is sunny.');
    release();
    const note = await rec.waitFor('subagent.notification');
    expect(note).toEqual({
      sessionId: 's',
      event: 'completed',
      result: { subagentName: 'researcher', toolCallId: 'h1', text: 'Tides follow the moon.' },
    });
    expect(onSubagentStep).toHaveBeenCalledWith(
      expect.objectContaining({
        subagentName: 'researcher',
        stepNumber: 1,
        toolCalls: [{ toolCallId: 'r1', toolName: 'lookup', args: { q: 'tides' } }],
      }),
    );
    expect(onSubagentStep).toHaveBeenCalledTimes(2);
    expect(rec.first('tool.call')?.agentName).toBe('main');
    expect(rec.payloads('tool.call').find((c) => c.id === 'r1')?.agentName).toBe('researcher');
    await rec.waitFor('assistant.text', (p) => p.text.startsWith('The researcher says'));
    expect(JSON.stringify(mainModel.calls[3].prompt)).toContain('Tides follow the moon.');
  });
});

describe('history limits', () => {
  it('trims by max_messages and max_chars, publishing how many went and why; clearHistory publishes history.cleared', async () => {
    const model = mockLanguageModel(['ok']);
    const onHook = vi.fn();
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [{ name: 'm', instructions: 'x' }],
      model,
      logger: silentLogger,
      history: { maxMessages: 3 },
      hooks: { onError: onHook },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('a');
    await session.sendText('b');
    expect(rec.payloads('history.trimmed')).toEqual([
      { sessionId: 's', removedCount: 1, reason: 'max_messages' },
    ]);
    expect(session.history).toHaveLength(3);
    session.clearHistory();
    expect(session.history).toEqual([]);
    expect(rec.payloads('history.cleared')).toEqual([{ sessionId: 's' }]);

    const s2 = new VoiceSession({
      sessionId: 's2',
      userId: 'u',
      agents: [{ name: 'm', instructions: 'x' }],
      model,
      logger: silentLogger,
      history: { maxTotalChars: 11 },
    });
    const rec2 = new EventRecorder(s2.eventBus);
    await s2.sendText('0123456789');
    expect(rec2.payloads('history.trimmed')).toEqual([
      { sessionId: 's2', removedCount: 1, reason: 'max_chars' },
    ]);
    expect(s2.history.map((m) => m.role)).toEqual(['assistant']);
  });
});

describe('subscriber isolation', () => {
  it('a throwing bus subscriber does not break the turn; it surfaces as an error event and onError warn', async () => {
    const onError = vi.fn();
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'm', instructions: 'x' }],
      model: mockLanguageModel(['fine']),
      logger: silentLogger,
      hooks: {
        onError,
        onTurnLatency: () => {
          throw new Error('hook bug');
        },
      },
    });
    session.eventBus.subscribe('llm.text.delta', () => {
      throw new Error('subscriber bug');
    });
    const r = await session.sendText('hi');
    expect(r.text).toBe('fine');
    expect(onError).toHaveBeenCalledWith(
      expect.objectContaining({ component: 'event-bus', severity: 'warn' }),
    );
  });
});
