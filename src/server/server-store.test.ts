/**
 * `serverMemory`: the sessions' long-term memory options from the server's `memory` settings, the
 * extraction model resolved through the server's model cache; no memory when it is off.
 */
import { describe, expect, it } from 'vitest';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { loadServerConfig } from './config.ts';
import { serverMemory } from './server-store.ts';
import { ModelCache } from './session-factory.ts';

describe('serverMemory', () => {
  const store = new InMemorySessionStore();
  const models = new ModelCache(process.cwd());

  it('off: no memory options', () => {
    expect(serverMemory(loadServerConfig({}), store, models)).toBeUndefined();
  });

  it('on: each setting passed on, the extraction model resolved; unset ones absent', () => {
    const on = loadServerConfig({ COLLOQUY_MEMORY: 'on' });
    expect(Object.keys(serverMemory(on, store, models) ?? {})).toEqual(['store']);
    const spec = 'openai-compatible:facts@http://127.0.0.1:9/v1';
    const options = serverMemory(
      { ...on, memory: { model: spec, maxFacts: 50, everyTurns: 3 } },
      store,
      models,
    );
    expect(options).toMatchObject({ maxFacts: 50, extractEveryTurns: 3 });
    expect(options?.model).toBe(models.llm(spec));
  });
});
