/**
 * Where clients start sessions: the HTTP path(s) that answer what the Pipecat client's
 * `startBotAndConnect({endpoint})` posts. `/connect` by default; a deployment picks its own with
 * `COLLOQUY_CONNECT_PATHS` (comma-separated) or `connectPaths` in the config file, e.g.
 * `/agent/voice/breeze-buddy/connect`. The list replaces the default (keep `/connect` in it for the
 * playground).
 */
import { ConfigError } from '../errors.ts';

/**
 * The HTTP paths answering a client's `startBotAndConnect` when none are configured (`connectPaths`
 * in the config file, or COLLOQUY_CONNECT_PATHS).
 *
 * @example
 * ```ts
 * import { DEFAULT_CONNECT_PATHS, loadServerConfig } from 'colloquy/server';
 *
 * const config = loadServerConfig();
 * console.log(DEFAULT_CONNECT_PATHS); // ['/connect']
 * ```
 */
export const DEFAULT_CONNECT_PATHS: readonly string[] = ['/connect'];

/** Paths the server uses for something else. */
const RESERVED = new Set(['/', '/ws', '/health', '/api/offer', '/playground/app.js']);

const PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/** Validates a list of connect paths (from the environment or the config file). */
export function parseConnectPaths(value: string | readonly string[] | undefined, origin: string): string[] {
  if (value === undefined) return [...DEFAULT_CONNECT_PATHS];
  const list = (typeof value === 'string' ? value.split(',') : [...value])
    .map((p) => p.trim())
    .filter(Boolean);
  if (list.length === 0) throw new ConfigError('invalid_connect_paths', `${origin}: no connect path given`);
  if (list.length > 20) throw new ConfigError('invalid_connect_paths', `${origin}: at most 20 connect paths`);
  for (const path of list) {
    if (path.length > 200 || !PATH.test(path) || path.split('/').some((seg) => seg === '.' || seg === '..')) {
      throw new ConfigError(
        'invalid_connect_paths',
        `${origin}: "${path.slice(0, 80)}" is not a plain absolute path (/segment/segment, letters, digits, . _ ~ -)`,
      );
    }
    if (RESERVED.has(path) || path.startsWith('/sessions/') || path === '/sessions') {
      throw new ConfigError('invalid_connect_paths', `${origin}: "${path}" is used by the server itself`);
    }
  }
  return [...new Set(list)];
}
