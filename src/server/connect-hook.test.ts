/**
 * `resolveConnect`: who is told what when the configuration or agent asked for does not exist. The
 * client's own unknown choice is its mistake (400, named); the hook's choice is the server's (500).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { loadServerConfig } from './config.ts';
import { resolveConnect } from './connect-hook.ts';

describe('resolveConnect: an unknown configuration or agent', () => {
  const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
  const base = { config, path: '/connect', headers: {}, logger: silentLogger };

  it('asked for by the client, with a hook that chose neither: a 400 naming it', async () => {
    for (const requestData of [{ config: 'nope' }, { agent: 'ghost' }]) {
      const outcome = await resolveConnect({ ...base, requestData, hook: () => ({ greeting: 'Hello' }) });
      expect(outcome).toMatchObject({ ok: false, status: 400 });
      expect(outcome.ok === false && outcome.info).toContain(Object.values(requestData)[0]);
    }
    expect(await resolveConnect({ ...base, requestData: { agent: 'ghost' } })).toMatchObject({
      ok: false,
      status: 400,
    });
  });

  it('chosen by the hook: a 500 without details', async () => {
    for (const decision of [{ config: 'nope' }, { agent: 'ghost' }]) {
      expect(await resolveConnect({ ...base, requestData: {}, hook: () => decision })).toEqual({
        ok: false,
        status: 500,
        info: 'Server misconfigured',
      });
    }
  });
});
