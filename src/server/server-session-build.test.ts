/**
 * `buildServerSession`: what a server session is built with. Its id, user, starting agent and client
 * channels; a speech pipeline unless the profile is a text chat; its recording into the store (the
 * transport's name and the profile's mode on `session.open`) until `dispose()`, which also stops the
 * log lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InMemoryMemoryStore } from '../agents/memory.ts';
import { ProviderError } from '../errors.ts';
import { createConsoleLogger } from '../logger.ts';
import { ClientChannels } from '../session/client-channels.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { loadServerConfig, resolveProfile, type SessionProfile } from './config.ts';
import { buildServerSession, type ServerSessionOptions } from './server-session.ts';
import { ModelCache } from './session-factory.ts';

function build(
  edit: (p: SessionProfile) => SessionProfile = (p) => p,
  extra: Partial<ServerSessionOptions> = {},
) {
  const lines: string[] = [];
  const logger = createConsoleLogger({
    level: 'info',
    format: 'json',
    now: () => 0,
    write: (l) => lines.push(l),
  });
  const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
  const writes: Array<Record<string, unknown>> = [];
  const store = { enqueue: (w: Record<string, unknown>) => writes.push(w) } as unknown as StoreWriter;
  const built = buildServerSession({
    profile: edit(resolveProfile(config)),
    config,
    logger,
    models: new ModelCache(config.baseDir),
    sessionId: 's-built',
    userId: 'ana',
    transport: 'small-webrtc',
    output: { write() {} },
    store,
    ...extra,
  });
  return { built, writes, lines };
}

describe('buildServerSession', () => {
  it('the session has its id, user and the bus it is built with', async () => {
    const { built } = build();
    try {
      expect(built.session.sessionId).toBe('s-built');
      expect(built.session.userId).toBe('ana');
      expect(built.session.eventBus).toBe(built.bus);
      expect(built.session.speech).toBeDefined();
    } finally {
      built.dispose();
      await built.session.close();
    }
  });

  it('a text chat profile: no speech pipeline', async () => {
    const { built } = build((p) => ({ ...p, textOnly: true }));
    try {
      expect(built.session.speech).toBeUndefined();
    } finally {
      built.dispose();
      await built.session.close();
    }
  });

  it('the profile’s initial agent is where the session starts', async () => {
    const { built } = build((p) => ({
      ...p,
      agents: [...p.agents, { name: 'desk', instructions: 'You are the desk.' }],
      initialAgent: 'desk',
    }));
    try {
      expect(built.session.currentAgent).toBe('desk');
    } finally {
      built.dispose();
      await built.session.close();
    }
  });

  it('the client channels given are the session’s', async () => {
    const clientChannels = new ClientChannels();
    const { built } = build((p) => p, { clientChannels });
    try {
      expect(built.session.clientChannels).toBe(clientChannels);
    } finally {
      built.dispose();
      await built.session.close();
    }
  });

  it('recorded into the store with the transport’s name and the profile’s mode, until disposed; the log stops too', async () => {
    const { built, writes, lines } = build((p) => ({ ...p, mode: 'stream' }));
    try {
      built.bus.publish('session.start', {
        sessionId: 's-built',
        userId: 'ana',
        agentName: 'front',
      } as never);
      expect(writes).toEqual([
        {
          type: 'session.open',
          session: {
            id: 's-built',
            userId: 'ana',
            transport: 'small-webrtc',
            mode: 'stream',
            agentName: 'front',
            startedAt: expect.any(Number),
          },
        },
      ]);
      built.dispose();
      built.bus.publish('session.start', {
        sessionId: 's-built',
        userId: 'ana',
        agentName: 'front',
      } as never);
      const error = new ProviderError('tts_unavailable', 'gone');
      const before = lines.length;
      built.bus.publish('error', { sessionId: 's-built', component: 'tts', error, severity: 'error' });
      expect(writes).toHaveLength(1);
      expect(lines.slice(before)).toEqual([]);
    } finally {
      await built.session.close();
    }
  });

  it('the long-term memory given is the session’s: its user’s facts are loaded when the session starts', async () => {
    const store = new InMemoryMemoryStore();
    await store.save('ana', ['Ana likes green tea.']);
    const loaded: string[] = [];
    const load = store.load.bind(store);
    store.load = (userId) => {
      loaded.push(userId);
      return load(userId);
    };
    const { built } = build((p) => ({ ...p, textOnly: true }), { memory: { store } });
    try {
      expect(loaded).toEqual([]);
      await built.session.start();
      expect(loaded).toEqual(['ana']);
    } finally {
      built.dispose();
      await built.session.close();
    }
  });

  it('the context compaction given is the session’s: a history over its budget is summarised', async () => {
    const summariser = mockLanguageModel(['They talked about the demo.']);
    // A script that answers every turn with one word (the demo script's answers are paced word by word).
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-build-'));
    const script = join(dir, 'script.json');
    writeFileSync(script, JSON.stringify({ rules: [], fallback: 'Fine.' }));
    const llm = `scripted:${script}`;
    const { built } = build((p) => ({ ...p, textOnly: true, models: { ...p.models, llm } }), {
      compaction: { maxChars: 30, keepRecent: 2, model: summariser },
    });
    try {
      const rec = new EventRecorder(built.bus);
      await built.session.start();
      await built.session.sendText('hello there');
      await built.session.sendText('hello again');
      // Compaction runs after the turn: wait for its event (up to 5 s), not vi.waitFor's 1 s of wall clock.
      await rec.waitFor('context.compact');
      expect(rec.payloads('context.compact')).toHaveLength(1);
      expect(rec.first('context.compact')).toMatchObject({ summary: 'They talked about the demo.' });
    } finally {
      built.dispose();
      await built.session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
