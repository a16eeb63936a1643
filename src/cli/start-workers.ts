/**
 * `colloquy start --workers N`: how many workers (the flag, `COLLOQUY_WORKERS`, else one per core),
 * and the primary's run: start the workers, listen, print where, and on SIGTERM/SIGINT stop them.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { hasOptional } from '../optional-dependency.ts';
import type { ServerConfig } from '../server/config.ts';
import { startPrimary } from '../workers/primary.ts';
import { WorkerStartError } from '../workers/worker-pool.ts';
import type { CliIo } from './io.ts';
import { listenProblem, printBanner } from './start.ts';

type Env = Record<string, string | undefined>;

/** Most workers one machine runs. */
export const MAX_WORKERS = 64;

/** `--workers N` (or `COLLOQUY_WORKERS`); default: the number of cores. */
export function workerCount(flag: string | true | undefined, env: Env): number {
  const text = typeof flag === 'string' ? flag : env.COLLOQUY_WORKERS;
  if (text === undefined || text === '') return Math.min(MAX_WORKERS, availableParallelism());
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new ConfigError(
      'invalid_argument',
      `--workers (COLLOQUY_WORKERS) must be a whole number from 1 to ${MAX_WORKERS}, got "${text.slice(0, 40)}"`,
    );
  }
  return n;
}

export async function runPrimary(
  options: { workers: number; config: ServerConfig; env: Env; logger: Logger; notices: readonly string[] },
  io: CliIo,
): Promise<number> {
  const { workers, config, logger } = options;
  for (const notice of options.notices) logger.warn(notice);
  const env = { ...options.env };
  if (hasOptional('@roamhq/wrtc') && hasOptional('@livekit/protocol')) {
    // One key pair for every worker: a token one worker mints is valid on all of them.
    const { liveKitKeys } = await import('../server/livekit-routes.ts');
    const keys = liveKitKeys(env, logger);
    env.COLLOQUY_LIVEKIT_API_KEY = keys.apiKey;
    env.COLLOQUY_LIVEKIT_API_SECRET = keys.apiSecret;
  }
  let primary: Awaited<ReturnType<typeof startPrimary>>;
  try {
    primary = await startPrimary({ workers, config, env, logger });
  } catch (err) {
    // A worker that could not start said why on stderr (one line per problem), like `--workers 1`.
    if (err instanceof WorkerStartError && err.message.includes('exited before listening')) return 1;
    io.err('colloquy start: cannot start — fix this:');
    io.err(`  ✗ ${listenProblem(err, config)}`);
    return 1;
  }
  printBanner(primary.url, config, options.env, io);
  io.out(`  workers: ${workers} processes (COLLOQUY_WORKERS / --workers)`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return resolve(130);
      stopping = true;
      io.out(`${signal}: ending ${primary.pool.liveSessions} session(s)`);
      primary.close('SIGTERM').then(
        () => {
          io.out('Colloquy stopped');
          resolve(0);
        },
        (err: unknown) => {
          io.err(`colloquy start: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
