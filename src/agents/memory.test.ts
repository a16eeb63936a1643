import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.ts';
import { VoiceSession } from '../session/voice-session.ts';
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
    expect(await store.load('u1')).toEqual(['Prefers window seats', 'Name is Ana']);
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
});
