/**
 * LiveKit's API key and secret: from `COLLOQUY_LIVEKIT_API_KEY` / `_SECRET`, both or neither (fresh
 * development keys, with a warning), and what `registerLiveKitRoutes` takes when no keys are passed;
 * `liveKitAvailable` with the optional packages installed (as here).
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/e2e/helpers.ts';
import { isColloquyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { mintLiveKitToken, verifyLiveKitToken } from '../transports/livekit/access-token.ts';
import { liveKitAvailable, liveKitKeys, registerLiveKitRoutes } from './livekit-routes.ts';

function recording() {
  const warned: string[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (message) => warned.push(message) };
  return { logger, warned };
}

describe('liveKitKeys', () => {
  it('takes both from the environment, without a warning', () => {
    const { logger, warned } = recording();
    expect(
      liveKitKeys({ COLLOQUY_LIVEKIT_API_KEY: 'APIkey', COLLOQUY_LIVEKIT_API_SECRET: 'the-secret' }, logger),
    ).toEqual({ apiKey: 'APIkey', apiSecret: 'the-secret' });
    expect(warned).toEqual([]);
  });

  it.each([
    ['only the key', { COLLOQUY_LIVEKIT_API_KEY: 'APIkey' }],
    ['only the secret', { COLLOQUY_LIVEKIT_API_SECRET: 'the-secret' }],
    ['the key and an empty secret', { COLLOQUY_LIVEKIT_API_KEY: 'APIkey', COLLOQUY_LIVEKIT_API_SECRET: '' }],
  ])('refuses %s: livekit_keys_incomplete', (_what, env) => {
    const { logger } = recording();
    let thrown: unknown;
    try {
      liveKitKeys(env, logger);
    } catch (err) {
      thrown = err;
    }
    expect(isColloquyError(thrown)).toBe(true);
    expect(thrown).toMatchObject({
      code: 'livekit_keys_incomplete',
      message:
        'Set both COLLOQUY_LIVEKIT_API_KEY and COLLOQUY_LIVEKIT_API_SECRET (or neither, for development)',
    });
  });

  it('makes fresh development keys when neither is set, and says so', () => {
    const { logger, warned } = recording();
    const a = liveKitKeys({}, logger);
    const b = liveKitKeys({ COLLOQUY_LIVEKIT_API_KEY: '', COLLOQUY_LIVEKIT_API_SECRET: '' }, logger);
    expect(a.apiKey).toMatch(/^APIdev[0-9a-f]{12}$/);
    expect(a.apiSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.apiKey).not.toBe(a.apiKey);
    expect(b.apiSecret).not.toBe(a.apiSecret);
    expect(warned).toEqual([
      'LiveKit: COLLOQUY_LIVEKIT_API_KEY / COLLOQUY_LIVEKIT_API_SECRET are not set; using keys generated for this run (tokens from other servers will not work)',
      'LiveKit: COLLOQUY_LIVEKIT_API_KEY / COLLOQUY_LIVEKIT_API_SECRET are not set; using keys generated for this run (tokens from other servers will not work)',
    ]);
  });
});

describe('liveKitAvailable', () => {
  it('is true with @livekit/protocol and @roamhq/wrtc installed, and warns of nothing', () => {
    const { logger, warned } = recording();
    expect(liveKitAvailable(logger)).toBe(true);
    expect(warned).toEqual([]);
  });
});

describe('registerLiveKitRoutes without keys', () => {
  it('takes the keys of options.env: tokens minted with them are valid for the routes', async () => {
    const server = await startTestServer({});
    try {
      const env = {
        COLLOQUY_LIVEKIT_API_KEY: 'APIenv',
        COLLOQUY_LIVEKIT_API_SECRET: 'env-secret-0123456789-0123456789',
      };
      const routes = registerLiveKitRoutes(new Hono(), server.context, { env });
      expect(routes.keys).toEqual({ apiKey: 'APIenv', apiSecret: 'env-secret-0123456789-0123456789' });
      const token = mintLiveKitToken(
        { apiKey: 'APIenv', apiSecret: 'env-secret-0123456789-0123456789' },
        { identity: 'a', room: 'r' },
      );
      expect(verifyLiveKitToken(token, routes.keys).sub).toBe('a');
      await routes.closeAll();
    } finally {
      await server.close();
    }
  });
});
