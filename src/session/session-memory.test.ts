import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { InMemoryMemoryStore } from '../agents/memory.ts';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { SessionMemory } from './session-memory.ts';

describe('memory extracted every N turns', () => {
  it('extractEveryTurns: 2 extracts after the 2nd and 4th turn, from the conversation at that moment', async () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const rec = new EventRecorder(bus);
    const store = new InMemoryMemoryStore();
    const extractor = mockLanguageModel(['["Lives in Porto"]', '["Likes tea"]']);
    const conversation: ModelMessage[] = [];
    const memory = new SessionMemory(
      { store, model: extractor, extractEveryTurns: 2 },
      {
        bus,
        sessionId: 's',
        userId: 'ana',
        model: extractor,
        conversation: () => [...conversation],
        onError: () => {},
      },
    );
    const turn = (n: number) => {
      conversation.push({ role: 'user', content: `turn ${n}` });
      bus.publish('turn.end', { sessionId: 's', turnId: `t${n}` });
    };
    turn(1);
    turn(2);
    await rec.waitFor('memory.extracted');
    turn(3);
    turn(4);
    await rec.waitFor('memory.extracted', () => rec.payloads('memory.extracted').length === 2);
    const seen = extractor.doGenerateCalls.map((c) => JSON.stringify(c.prompt));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toContain('user: turn 2');
    expect(seen[0]).not.toContain('turn 3');
    expect(seen[1]).toContain('user: turn 4');
    expect(await store.load('ana')).toEqual(['Lives in Porto', 'Likes tea']);
    memory.dispose();
  });
});
