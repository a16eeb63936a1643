/**
 * `ModelCache` and `buildAgents`, the parts the other tests leave out: every model cached by its spec
 * (one object per spec, another for another spec), a realtime `llm` spec (the realtime model, with
 * the default text model beside it), kb files loaded once per tool and path and other tools passed
 * through untouched, an agent's inline tools and realtime model, and an agent naming no tool while
 * another names some.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { DeclarativeTool } from '../tools/declarative/index.ts';
import { DEMO_DIR, type SessionProfile } from './config.ts';
import { defaultSpecs } from './model-spec.ts';
import { buildAgents, ModelCache } from './session-factory.ts';

const ENV = { OPENAI_API_KEY: 'sk-test', GOOGLE_GENERATIVE_AI_API_KEY: 'g-test' };
const SPECS = {
  llm: 'openai-compatible:a@http://127.0.0.1:9/v1',
  stt: 'pocketsphinx',
  tts: 'espeak',
  vad: 'energy',
};

describe('ModelCache.models', () => {
  it('one object per spec: the same specs give the same models, another spec another', () => {
    const cache = new ModelCache(DEMO_DIR, {});
    const a = cache.models(SPECS);
    const b = cache.models(SPECS);
    expect(b.llm).toBe(a.llm);
    expect(b.stt).toBe(a.stt);
    expect(b.tts).toBe(a.tts);
    expect(b.vad).toBe(a.vad);
    expect(Object.keys(a).sort()).toEqual(['llm', 'stt', 'tts', 'vad']);
    const c = cache.models({
      ...SPECS,
      llm: 'openai-compatible:b@http://127.0.0.1:9/v1',
      tts: 'espeak:en-gb',
      vad: 'silero',
    });
    expect(c.llm).not.toBe(a.llm);
    expect(c.tts).not.toBe(a.tts);
    expect(c.vad).not.toBe(a.vad);
    expect(c.stt).toBe(a.stt);
    expect(cache.llm('openai-compatible:a@http://127.0.0.1:9/v1')).toBe(a.llm);
  });

  it('a realtime llm spec: the realtime model (cached), and the default text model for everything else', () => {
    const cache = new ModelCache(DEMO_DIR, ENV);
    const m = cache.models({ ...SPECS, llm: 'openai-realtime:gpt-realtime' });
    expect(m.realtime).toBeDefined();
    expect(m.realtime).toBe(cache.realtime('openai-realtime:gpt-realtime'));
    expect(m.llm).toBe(cache.llm(defaultSpecs(ENV, DEMO_DIR).llm));
    expect(cache.realtime('google-live:gemini-live-2.5-flash')).not.toBe(m.realtime);
  });
});

describe('ModelCache.loadTool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-kbcache-'));
  writeFileSync(join(dir, 'docs.json'), JSON.stringify([{ id: 'a', text: 'Open at nine.' }]));
  const kb = (name: string, config: object) =>
    ({ name, kind: 'kb', description: 'Search the FAQ', config }) as unknown as DeclarativeTool;

  it('a kb file is read once per tool and path; another tool on the same file gets its own', () => {
    const cache = new ModelCache(dir);
    const first = cache.loadTool(kb('faq', { file: 'docs.json' }));
    expect(cache.loadTool(kb('faq', { file: 'docs.json' }))).toBe(first);
    expect(cache.loadTool(kb('faq', { file: join(dir, 'docs.json') }))).toBe(first);
    const other = cache.loadTool(kb('hours', { file: 'docs.json' }));
    expect(other).not.toBe(first);
    expect(other).toEqual({
      name: 'hours',
      kind: 'kb',
      description: 'Search the FAQ',
      config: { file: 'docs.json', documents: [{ id: 'a', text: 'Open at nine.' }] },
    });
  });

  it('passed through untouched: another kind of tool, a kb tool with its documents inline, or with no file', () => {
    const cache = new ModelCache(dir);
    const client = {
      name: 'room',
      kind: 'client_function',
      description: 'Room status',
      input_schema: { type: 'object', properties: {} },
    } as unknown as DeclarativeTool;
    const inline = kb('faq', { documents: [{ id: 'x', text: 'y' }], file: 'missing.json' });
    const none = kb('faq', {});
    expect(cache.loadTool(client)).toBe(client);
    expect(cache.loadTool(inline)).toBe(inline);
    expect(cache.loadTool(none)).toBe(none);
  });
});

describe('buildAgents', () => {
  const bus = () => new EventBus<EventMap>({ logger: silentLogger });
  const TOOL = {
    name: 'room_status',
    kind: 'client_function',
    description: 'Ask the app for the room status',
    input_schema: { type: 'object', properties: {} },
  } as unknown as DeclarativeTool;
  const profile = (agents: unknown[], tools: DeclarativeTool[] = [TOOL]) =>
    ({ mode: 'agent', models: SPECS, agents, tools }) as unknown as SessionProfile;

  it('an agent’s inline tool definitions are its own, beside the shared ones it names', () => {
    const inline = { ...TOOL, name: 'door_status' };
    const agents = buildAgents(
      profile([
        { name: 'a', instructions: 'A.', tools: ['room_status', inline] },
        { name: 'b', instructions: 'B.', tools: [] },
        { name: 'c', instructions: 'C.' },
      ]),
      { bus: bus(), sessionId: 's1', cache: new ModelCache(DEMO_DIR) },
    );
    expect(agents.map((a) => Object.keys(a.tools ?? {}).sort())).toEqual([
      ['door_status', 'room_status'],
      [],
      [],
    ]);
  });

  it('no top-level tools and no agent naming any: every agent gets an empty tool set', () => {
    const agents = buildAgents(profile([{ name: 'a', instructions: 'A.' }], []), {
      bus: bus(),
      sessionId: 's1',
      cache: new ModelCache(DEMO_DIR),
    });
    expect(agents).toEqual([{ name: 'a', instructions: 'A.', tools: {} }]);
  });

  it('an agent on a realtime model gets it as its realtime model (no text model)', () => {
    const cache = new ModelCache(DEMO_DIR, ENV);
    const [agent] = buildAgents(
      profile([{ name: 'voice', instructions: 'Talk.', model: 'openai-realtime:gpt-realtime' }]),
      { bus: bus(), sessionId: 's1', cache },
    );
    expect(agent!.realtime).toBe(cache.realtime('openai-realtime:gpt-realtime'));
    expect(agent!.model).toBeUndefined();
  });
});
