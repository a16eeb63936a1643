/**
 * `buildAgents`: the agents of a config file as the session's `AgentDefinition`s, each setting of an
 * agent carried over (description, transfers, subagents, voice, its own model), and tools offered as
 * the file says (top-level tools to every agent when none names any; named ones only to those).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { buildAgents, ModelCache } from './session-factory.ts';

/** The agents built from a config file with `file`'s contents. */
function agentsOf(file: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-agents-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(file));
  const config = loadServerConfig({ COLLOQUY_CONFIG: join(dir, 'config.json'), COLLOQUY_VAD: 'energy' });
  const cache = new ModelCache(config.baseDir);
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  return { agents: buildAgents(resolveProfile(config), { bus, sessionId: 's1', cache }), cache };
}

const TOOL = {
  name: 'room_status',
  kind: 'client_function',
  description: 'Ask the app for the room status',
  input_schema: { type: 'object', properties: {} },
};

describe('buildAgents', () => {
  it("carries each agent's settings over; unset ones are absent", () => {
    const model = 'openai-compatible:billing-model@http://127.0.0.1:9/v1';
    const { agents, cache } = agentsOf({
      agents: [
        {
          name: 'front',
          instructions: 'You are the front desk.',
          description: 'Greets guests',
          transfers: ['billing'],
          subagents: ['researcher'],
          voice: 'en-gb',
        },
        { name: 'billing', instructions: 'You handle the bill.', model },
        { name: 'researcher', instructions: 'You look things up.' },
      ],
    });
    expect(agents.map((a) => a.name)).toEqual(['front', 'billing', 'researcher']);
    expect(agents[0]).toMatchObject({
      instructions: 'You are the front desk.',
      description: 'Greets guests',
      transfers: ['billing'],
      subagents: ['researcher'],
      voice: 'en-gb',
    });
    expect(agents[1]!.model).toBe(cache.llm(model));
    expect(Object.keys(agents[2]!).sort()).toEqual(['instructions', 'name', 'tools']);
  });

  it('top-level tools go to every agent when none names any, else only to those that name them', () => {
    const all = agentsOf({
      tools: [TOOL],
      agents: [
        { name: 'a', instructions: 'A.' },
        { name: 'b', instructions: 'B.' },
      ],
    }).agents;
    expect(all.map((a) => Object.keys(a.tools ?? {}))).toEqual([['room_status'], ['room_status']]);
    const named = agentsOf({
      tools: [TOOL],
      agents: [
        { name: 'a', instructions: 'A.', tools: ['room_status'] },
        { name: 'b', instructions: 'B.' },
      ],
    }).agents;
    expect(named.map((a) => Object.keys(a.tools ?? {}))).toEqual([['room_status'], []]);
    expect(() =>
      agentsOf({ tools: [TOOL], agents: [{ name: 'a', instructions: 'A.', tools: ['nope'] }] }),
    ).toThrow('Agent "a" names unknown tool "nope"');
  });
});

describe('ModelCache.loadTool: a kb tool whose documents are in a file', () => {
  const kb = (file: string) =>
    ({ name: 'faq', kind: 'kb', description: 'Search the FAQ', config: { file, top_k: 3 } }) as const;

  it('loads the documents, and names the tool and the path of a file it cannot read or that holds no documents', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-kb-'));
    writeFileSync(join(dir, 'docs.json'), JSON.stringify([{ id: 'a', text: 'Open at nine.' }]));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ id: 'a', text: 'not in an array' }));
    const cache = new ModelCache(dir);
    const loaded = cache.loadTool(kb('docs.json'));
    expect(loaded.kind === 'kb' && loaded.config.documents).toEqual([{ id: 'a', text: 'Open at nine.' }]);
    expect(() => cache.loadTool(kb('bad.json'))).toThrowError(
      expect.objectContaining({
        code: 'kb_file_invalid',
        message: `kb tool "faq": ${join(dir, 'bad.json')} is not an array of documents`,
      }),
    );
    expect(() => cache.loadTool(kb('missing.json'))).toThrowError(
      expect.objectContaining({
        code: 'kb_file_unreadable',
        message: `kb tool "faq": cannot read ${join(dir, 'missing.json')}`,
        // What went wrong, for the log: here the file system's answer.
        cause: expect.objectContaining({ code: 'ENOENT' }),
      }),
    );
  });
});
