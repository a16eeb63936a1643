/**
 * `colloquy start --workers N` (N > 1): the primary process. It forks N workers (each a full
 * Colloquy server on a loopback port), listens on the public port and routes every request to the
 * worker that owns it (primary-proxy.ts), restarts a worker that crashes, answers `/metrics` for
 * all of them, and on SIGTERM/SIGINT lets every worker end its sessions before it exits.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';
import type { ServerConfig } from '../server/config.ts';
import { createPrimaryServer } from './primary-proxy.ts';
import { WorkerPool } from './worker-pool.ts';

export interface PrimaryOptions {
  workers: number;
  config: ServerConfig;
  /** The workers' environment (the primary's, with the command's flags applied). */
  env: Record<string, string | undefined>;
  logger: Logger;
  /**
   * The script the workers run and its arguments (default: this process's script, `start`; the
   * command's flags reach the workers through `env`, where the primary put them).
   */
  script?: string;
  args?: readonly string[];
  restartDelayMs?: number;
}

export interface RunningPrimary {
  url: string;
  port: number;
  server: Server;
  pool: WorkerPool;
  /** Sends `signal` to the workers (each ends its sessions), waits for them, stops listening. */
  close(signal?: NodeJS.Signals): Promise<void>;
}

export async function startPrimary(options: PrimaryOptions): Promise<RunningPrimary> {
  const { config, logger } = options;
  const env = { ...options.env };
  const pool = new WorkerPool({
    count: options.workers,
    script: options.script ?? (process.argv[1] as string),
    args: options.args ?? ['start'],
    env,
    logger,
    ...(options.restartDelayMs !== undefined ? { restartDelayMs: options.restartDelayMs } : {}),
  });
  // Listen first: a taken port is reported before any worker starts.
  const server = createPrimaryServer({ pool, config, logger });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await pool.start();
  } catch (err) {
    await pool.stop('SIGKILL', 1000);
    server.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    server,
    pool,
    close: (signal = 'SIGTERM') => {
      closing ??= (async () => {
        // Workers end their sessions (conversation-end travels through the open proxied sockets).
        await pool.stop(signal);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
