import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.ts';
import { VoiceSession } from '../session/voice-session.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { SessionStoreMemory } from '../store/store-memory.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { InMemoryMemoryStore } from './memory.ts';

describe('long-term memory', () => {
  it('loads known facts into the instructions and extracts new ones at close (onMemoryExtraction)', async () => {
    const store = new InMemoryMemoryStore();
    await store.save('u1', ['Prefers window seats']);
    const chat = mockLanguageModel(['Noted, Ana.']);
    const extractor = mockLanguageModel(['["Name is Ana", "Prefers window seats"]']);
    const onMemoryExtraction = vi.fn();
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'm', instructions: 'Be brief.' }],
      model: chat,
      logger: silentLogger,
      memory: { store, model: extractor },
      hooks: { onMemoryExtraction },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.start();
    await session.sendText('I am Ana');
    expect(chat.calls[0].prompt[0]).toEqual({
      role: 'system',
      content: expect.stringContaining('- Prefers window seats'),
    });
    await session.close('done');
    expect(await store.load('u1')).toEqual(['Name is Ana', 'Prefers window seats']);
    expect(rec.first('memory.extracted')).toMatchObject({ userId: 'u1', factsExtracted: 1 });
    expect(onMemoryExtraction).toHaveBeenCalledWith({
      userId: 'u1',
      factsExtracted: 1,
      durationMs: expect.any(Number),
    });
  });

  it('bad extractor output is an error event (severity error), not a crash', async () => {
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'm', instructions: 'x' }],
      model: mockLanguageModel(['ok']),
      logger: silentLogger,
      memory: { store: new InMemoryMemoryStore(), model: mockLanguageModel(['no json here']) },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('hello');
    await session.close();
    expect(rec.first('error')).toMatchObject({ component: 'memory', severity: 'error' });
    expect(rec.first('error')?.error.code).toBe('memory_bad_output');
  });

  it('extracts every N turns too (extractEveryTurns), merging into a store that merges atomically', async () => {
    const store = new SessionStoreMemory(new InMemorySessionStore());
    const extractor = mockLanguageModel([
      '["Lives in Porto", "Likes tea"]',
      '[{"fact": "Lives in Lisbon", "replaces": "Lives in Porto"}]',
      '[]',
    ]);
    const session = new VoiceSession({
      userId: 'u2',
      agents: [{ name: 'm', instructions: 'x' }],
      model: mockLanguageModel(['ok']),
      logger: silentLogger,
      memory: { store, model: extractor, extractEveryTurns: 2 },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('I live in Porto');
    expect(extractor.doGenerateCalls).toHaveLength(0);
    await session.sendText('and I like tea');
    await vi.waitFor(() => expect(rec.payloads('memory.extracted')).toHaveLength(1));
    expect(rec.first('memory.extracted')).toMatchObject({ userId: 'u2', factsExtracted: 2 });
    expect(await store.load('u2')).toEqual(['Lives in Porto', 'Likes tea']);
    await session.sendText('I moved to Lisbon');
    await session.sendText('yes, last week');
    await vi.waitFor(() => expect(rec.payloads('memory.extracted')).toHaveLength(2));
    // The newer fact replaced the one it updates.
    expect(await store.load('u2')).toEqual(['Likes tea', 'Lives in Lisbon']);
    await session.close();
    expect(rec.payloads('memory.extracted')).toHaveLength(3);
    expect(rec.payloads('memory.extracted')[2]).toMatchObject({ factsExtracted: 0 });
  });

  it('a failing extraction model is an error event and leaves the stored facts as they were', async () => {
    const store = new SessionStoreMemory(new InMemorySessionStore());
    await store.save('u3', ['Has a cat']);
    const session = new VoiceSession({
      userId: 'u3',
      agents: [{ name: 'm', instructions: 'x' }],
      model: mockLanguageModel(['ok']),
      logger: silentLogger,
      memory: { store, model: mockLanguageModel([[{ error: new Error('provider down') }]]) },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('hello');
    await session.close();
    expect(rec.first('error')).toMatchObject({ component: 'memory', severity: 'error' });
    expect(rec.payloads('memory.extracted')).toEqual([]);
    expect(await store.load('u3')).toEqual(['Has a cat']);
  });
});
