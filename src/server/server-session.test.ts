/**
 * `buildServerSession`: what a server session writes to the operator's log. Each error of the session
 * is logged once (by `logSessionEvents`: component, session id and the whole error), not once more.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.ts';
import { createConsoleLogger } from '../logger.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { buildServerSession } from './server-session.ts';
import { ModelCache } from './session-factory.ts';

describe('buildServerSession: the log', () => {
  it('logs each error of the session once, as a warning or an error by its severity, with the error', async () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({
      level: 'info',
      format: 'json',
      now: () => 0,
      write: (l) => lines.push(l),
    });
    const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
    const built = buildServerSession({
      profile: resolveProfile(config),
      config,
      logger,
      models: new ModelCache(config.baseDir),
      sessionId: 's1',
      userId: 'u1',
      transport: 'websocket',
      output: { write() {} },
    });
    try {
      const slow = new ProviderError('tts_failed', 'TTS took too long');
      const down = new ProviderError('llm_unavailable', 'The model is down');
      built.bus.publish('error', { sessionId: 's1', component: 'tts', error: slow, severity: 'warn' });
      built.bus.publish('error', { sessionId: 's1', component: 'llm', error: down, severity: 'fatal' });
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.filter((e) => e.level === 'warn' || e.level === 'error')).toMatchObject([
        {
          level: 'warn',
          msg: 'tts failed',
          sessionId: 's1',
          component: 'tts',
          meta: [{ code: 'tts_failed' }],
        },
        {
          level: 'error',
          msg: 'llm failed',
          sessionId: 's1',
          component: 'llm',
          meta: [{ code: 'llm_unavailable' }],
        },
      ]);
    } finally {
      built.dispose();
      await built.session.close();
    }
  });
});
