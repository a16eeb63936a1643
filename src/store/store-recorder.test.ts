/** A real VoiceSession recorded into the store through its bus (the store is a projection). */
import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logger.ts';
import { VoiceSession } from '../session/voice-session.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { InMemorySessionStore } from './memory-store.ts';
import { recordSession } from './store-recorder.ts';
import { StoreWriter } from './store-writer.ts';

describe('recordSession', () => {
  it('stores the session, both sides of each turn, tool call + result, interruptions, agent and history', async () => {
    const store = new InMemorySessionStore();
    const writer = new StoreWriter(store, { flushDelayMs: 60_000 });
    const lookup = tool({
      description: 'Look up a booking',
      inputSchema: z.object({ ref: z.string() }),
      execute: async ({ ref }) => ({ ref, status: 'confirmed' }),
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'lookup', args: { ref: 'AB1' }, id: 'call-1' } }],
      'Your booking AB1 is confirmed.',
      {
        parts: [
          { text: 'Let me tell you a very long story' },
          { delayMs: 5000 },
          { text: ' that never ends.' },
        ],
      },
    ]);
    const session = new VoiceSession({
      sessionId: 'rec-1',
      userId: 'ana',
      agents: [{ name: 'desk', instructions: 'Help.', tools: { lookup } }],
      model,
      logger: silentLogger,
    });
    let t = 1000;
    recordSession(session.eventBus, writer, {
      transport: 'websocket',
      history: () => session.history,
      now: () => t++,
    });
    await session.start();
    await session.sendText('Is booking AB1 ok?');
    let deltas = 0;
    session.eventBus.subscribe('llm.text.delta', () => {
      if (++deltas === 3) release();
    });
    const story = session.sendText('Tell me a story');
    await gate;
    session.interrupt('user_speaking');
    await story;
    await session.close('client_disconnected');
    expect(writer.pending).toBeGreaterThan(0); // nothing written on the turn's path
    await writer.close();

    const got = (await store.getSession('rec-1'))!;
    expect(got.session).toMatchObject({
      userId: 'ana',
      transport: 'websocket',
      agentName: 'desk',
      state: 'closed',
      closeReason: 'client_disconnected',
    });
    expect(
      got.transcript.map(({ role, text, heardText, interrupted, interruptReason, source }) => ({
        role,
        text,
        heardText,
        interrupted,
        interruptReason,
        source,
      })),
    ).toEqual([
      {
        role: 'user',
        text: 'Is booking AB1 ok?',
        heardText: undefined,
        interrupted: false,
        interruptReason: undefined,
        source: 'text',
      },
      {
        role: 'assistant',
        text: 'Your booking AB1 is confirmed.',
        heardText: 'Your booking AB1 is confirmed.',
        interrupted: false,
        interruptReason: undefined,
        source: undefined,
      },
      {
        role: 'user',
        text: 'Tell me a story',
        heardText: undefined,
        interrupted: false,
        interruptReason: undefined,
        source: 'text',
      },
      {
        role: 'assistant',
        text: 'Let me tell',
        heardText: 'Let me tell',
        interrupted: true,
        interruptReason: 'user_speaking',
        source: undefined,
      },
    ]);
    expect(got.transcript[1]).toMatchObject({ agentName: 'desk', turnId: got.transcript[0].turnId });
    expect(got.toolCalls).toEqual([
      expect.objectContaining({
        toolCallId: 'call-1',
        name: 'lookup',
        agentName: 'desk',
        args: { ref: 'AB1' },
        status: 'success',
        result: { ref: 'AB1', status: 'confirmed' },
      }),
    ]);
    expect(got.history[0]).toEqual({ role: 'user', content: 'Is booking AB1 ok?' });
    expect(got.history.some((m) => m.role === 'tool')).toBe(true);
  });

  it('stores nothing for a session that never started', async () => {
    const store = new InMemorySessionStore();
    const writer = new StoreWriter(store);
    const session = new VoiceSession({
      sessionId: 'never',
      userId: 'u',
      agents: [{ name: 'a', instructions: '' }],
      model: mockLanguageModel(['x']),
      logger: silentLogger,
    });
    recordSession(session.eventBus, writer);
    await session.close('gone');
    await writer.close();
    expect(await store.getSession('never')).toBeUndefined();
  });
});
