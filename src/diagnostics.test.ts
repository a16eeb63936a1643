import diagnosticsChannel from 'node:diagnostics_channel';
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DIAGNOSTICS_CHANNELS } from './diagnostics.ts';
import { silentLogger } from './logger.ts';
import { VoiceSession } from './session/voice-session.ts';
import { mockLanguageModel } from './testing/mock-llm.ts';

const seen: Array<[string, unknown]> = [];
const listeners = Object.values(DIAGNOSTICS_CHANNELS).map((name) => {
  const listener = (message: unknown) => seen.push([name, message]);
  return { name, listener };
});

afterEach(() => {
  for (const { name, listener } of listeners) diagnosticsChannel.unsubscribe(name, listener);
  seen.length = 0;
});

function newSession(): VoiceSession {
  return new VoiceSession({
    userId: 'u1',
    agents: [{ name: 'main', instructions: 'Be brief.' }],
    model: mockLanguageModel(['Hello.']),
    logger: silentLogger,
  });
}

describe('diagnostics channels', () => {
  it('session created, turn start and end, closed: published to subscribers by channel name', async () => {
    for (const { name, listener } of listeners) diagnosticsChannel.subscribe(name, listener);
    const session = newSession();
    const turn = await session.sendText('Hi');
    expect(turn.text).toBe('Hello.');
    // A provider's time to first byte, as the speech pipeline reports it on the session bus.
    session.eventBus.publish('metrics.ttfb', {
      sessionId: session.sessionId,
      turnId: turn.turnId,
      processor: 'tts',
      model: 'mock-tts',
      valueMs: 42,
    });
    await session.close('done');
    const id = session.sessionId;
    const mine = seen.filter(([, m]) => (m as { sessionId?: string }).sessionId === id);
    expect(mine.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'colloquy:session:created',
        'colloquy:turn:start',
        'colloquy:turn:end',
        'colloquy:session:closed',
      ]),
    );
    expect(mine.find(([n]) => n === 'colloquy:provider:call')?.[1]).toEqual({
      sessionId: id,
      turnId: turn.turnId,
      processor: 'tts',
      model: 'mock-tts',
      ttfbMs: 42,
    });
    expect(mine[0]).toEqual(['colloquy:session:created', { sessionId: id, userId: 'u1' }]);
    expect(mine.find(([n]) => n === 'colloquy:turn:end')?.[1]).toMatchObject({
      sessionId: id,
      abandoned: false,
    });
    expect(mine.at(-1)).toEqual(['colloquy:session:closed', { sessionId: id, reason: 'done' }]);
  });

  it('errors are published with their component and severity', async () => {
    const errors = listeners.find((l) => l.name === DIAGNOSTICS_CHANNELS.error)!;
    diagnosticsChannel.subscribe(errors.name, errors.listener);
    const session = newSession();
    session.eventBus.subscribe('turn.start', () => {
      throw new Error('handler bug');
    });
    await session.sendText('Hi');
    await session.close();
    expect(seen.find(([n]) => n === 'colloquy:error')?.[1]).toMatchObject({
      sessionId: session.sessionId,
      severity: 'warn',
      error: { code: 'handler_failed' },
    });
  });

  it('tool calls, LLM start and usage, turn latency: their channels carry the turn, agent, model and status', async () => {
    for (const { name, listener } of listeners) diagnosticsChannel.subscribe(name, listener);
    const lookup = tool({
      description: 'Look up',
      inputSchema: z.object({ q: z.string() }),
      execute: async ({ q }) => ({ q }),
    });
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
      model: mockLanguageModel([[{ toolCall: { name: 'lookup', args: { q: 'a' }, id: 'c1' } }], 'Done.']),
      logger: silentLogger,
    });
    const turn = await session.sendText('look');
    await session.close();
    const of = (name: string) =>
      seen.filter(([n, m]) => n === name && (m as { sessionId: string }).sessionId === session.sessionId);
    const ids = { sessionId: session.sessionId, turnId: turn.turnId };
    expect(of('colloquy:llm:start')[0]?.[1]).toEqual({ ...ids, agentName: 'main' });
    expect(of('colloquy:llm:usage')[0]?.[1]).toMatchObject({
      ...ids,
      agentName: 'main',
      model: expect.any(String),
    });
    expect(of('colloquy:tool:call')[0]?.[1]).toEqual({ ...ids, toolCallId: 'c1', name: 'lookup' });
    expect(of('colloquy:tool:result')[0]?.[1]).toMatchObject({ ...ids, toolCallId: 'c1', status: 'success' });
    expect(of('colloquy:turn:latency')[0]?.[1]).toMatchObject({
      ...ids,
      kind: 'text',
      segments: { totalE2EMs: expect.any(Number) },
    });
  });

  it('nothing is built or published without a subscriber', async () => {
    expect(
      Object.values(DIAGNOSTICS_CHANNELS).some((n) => diagnosticsChannel.channel(n).hasSubscribers),
    ).toBe(false);
    const session = newSession();
    await session.sendText('Hi');
    await session.close();
    expect(seen).toEqual([]);
  });
});
