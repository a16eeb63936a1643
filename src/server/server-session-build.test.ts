/**
 * `buildServerSession`: what a server session is built with. Its id, user, starting agent and client
 * channels; a speech pipeline unless the profile is a text chat; its recording into the store (the
 * transport's name and the profile's mode on `session.open`) until `dispose()`, which also stops the
 * log lines.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.ts';
import { createConsoleLogger } from '../logger.ts';
import { ClientChannels } from '../session/client-channels.ts';
import type { StoreWriter } from '../store/store-writer.ts';
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
});
