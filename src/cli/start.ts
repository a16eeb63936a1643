/**
 * `colloquy start`: check the setup, listen, and shut down gracefully on SIGINT/SIGTERM (every session
 * ends with `conversation-end`, then the process exits). Problems are printed one line each, without
 * stack traces.
 */
import { isColloquyError } from '../errors.ts';
import type { ConsoleLogger, Logger } from '../logger.ts';
import { createConsoleLogger, isLogFormat, isLogLevel } from '../logger.ts';
import { type OtlpTracing, startOtlpTracing } from '../observability/otlp-tracing.ts';
import { hasOptional } from '../optional-dependency.ts';
import type { ServerConfig } from '../server/config.ts';
import { preflight } from '../server/preflight.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../server/server.ts';
import { pickUpFilter, WORKER_ENV } from '../workers/worker-messages.ts';
import { reportToPrimary } from '../workers/worker-report.ts';
import { parseArgs } from './args.ts';
import { type CliIo, processIo } from './io.ts';
import { runPrimary, workerCount } from './start-workers.ts';

type Env = Record<string, string | undefined>;

/** Applies `--port/--host/--config` over the environment. */
export function envWithFlags(env: Env, flags: Map<string, string | true>): Env {
  const out = { ...env };
  const set = (flag: string, name: string) => {
    const v = flags.get(flag);
    if (typeof v === 'string') out[name] = v;
  };
  set('port', 'PORT');
  set('host', 'HOST');
  set('config', 'COLLOQUY_CONFIG');
  return out;
}

/** A logger configured from COLLOQUY_LOG_LEVEL / COLLOQUY_LOG_FORMAT (info and human by default). */
export function cliLogger(env: Env): ConsoleLogger {
  return createConsoleLogger({
    level: isLogLevel(env.COLLOQUY_LOG_LEVEL) ? env.COLLOQUY_LOG_LEVEL : 'info',
    format: isLogFormat(env.COLLOQUY_LOG_FORMAT) ? env.COLLOQUY_LOG_FORMAT : 'human',
  });
}

/** Starts the server with SmallWebRTC and LiveKit routes when their optional packages are installed. */
export async function startFromConfig(
  config: ServerConfig,
  logger: Logger,
  options: Pick<StartServerOptions, 'pickUp'> = {},
): Promise<RunningServer> {
  let webrtc: { closeAll(reason?: string): Promise<void> } | undefined;
  let liveKit: { closeAll(reason?: string): Promise<void> } | undefined;
  const registerWebRtc = hasOptional('@roamhq/wrtc')
    ? (await import('../server/webrtc-routes.ts')).registerWebRtcRoutes
    : undefined;
  const liveKitRoutes = await import('../server/livekit-routes.ts');
  const registerLiveKit = liveKitRoutes.liveKitAvailable(logger)
    ? liveKitRoutes.registerLiveKitRoutes
    : undefined;
  const running = await startServer({
    config,
    logger,
    ...options,
    registerRoutes: (app, ctx) => {
      if (registerWebRtc) {
        webrtc = registerWebRtc(app, {
          config: ctx.config,
          logger,
          gate: ctx.gate,
          models: ctx.models,
          registry: ctx.registry,
          tokens: ctx.tokens,
          // The server's own sessions: stored, with memory, compaction and resume like the WebSocket ones.
          createSession: ctx.createSession,
          ...(ctx.resume ? { resume: ctx.resume } : {}),
          ...(ctx.connectRequired ? { connectRequired: true } : {}),
        });
      }
      if (registerLiveKit) liveKit = registerLiveKit(app, ctx);
    },
  });
  const close = running.close;
  running.close = async (reason) => {
    await Promise.allSettled([webrtc?.closeAll(reason), liveKit?.closeAll(reason), close(reason)]);
  };
  return running;
}

/** One line saying what to fix when the server cannot listen. */
export function listenProblem(err: unknown, config: Pick<ServerConfig, 'port' | 'host'>): string {
  // Colloquy's own errors (a store that cannot be opened, Redis unreachable) say what to fix.
  if (isColloquyError(err)) return err.message;
  const code = (err as { code?: unknown })?.code;
  const where = `${config.host}:${config.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${config.port} is already in use on ${config.host}: stop the other server, or set PORT to a free port (PORT=0 picks one)`;
    case 'EACCES':
      return `not allowed to listen on ${where}: use a port above 1023, or run with the needed privileges`;
    case 'EADDRNOTAVAIL':
      return `HOST=${config.host} is not an address of this machine: set HOST to one of its addresses (or 0.0.0.0)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `HOST=${config.host} does not resolve: set an IP address or a host name of this machine`;
    default:
      return `cannot listen on ${where}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export async function startCommand(
  argv: readonly string[],
  env: Env,
  io: CliIo = processIo,
): Promise<number> {
  const { flags } = parseArgs(argv, { valued: ['port', 'host', 'config', 'workers'] });
  const runEnv = envWithFlags(env, flags);
  const workerId = runEnv[WORKER_ENV.id];
  // A node of a cluster (COLLOQUY_REDIS_URL) is one process: its slots and grants are counted per process.
  const clustered = Boolean(runEnv.COLLOQUY_REDIS_URL?.trim());
  const workers = workerId === undefined && !clustered ? workerCount(flags.get('workers'), runEnv) : 1;
  if (
    clustered &&
    workerId === undefined &&
    (flags.get('workers') ?? runEnv.COLLOQUY_WORKERS) !== undefined
  ) {
    if (workerCount(flags.get('workers'), runEnv) > 1) {
      io.err('colloquy start: cannot start — fix this:');
      io.err(
        '  ✗ --workers above 1 with COLLOQUY_REDIS_URL: run one process per node (each its own COLLOQUY_PUBLIC_URL)',
      );
      return 1;
    }
  }
  const checked = await preflight(runEnv);
  if (checked.problems.length > 0 || !checked.config) {
    io.err(`colloquy start: cannot start — fix ${checked.problems.length === 1 ? 'this' : 'these'}:`);
    for (const problem of checked.problems) io.err(`  ✗ ${problem}`);
    return 1;
  }
  const config = checked.config;
  const logger = workerId === undefined ? cliLogger(runEnv) : cliLogger(runEnv).child({ worker: workerId });
  if (workers > 1) return runPrimary({ workers, config, env: runEnv, logger, notices: checked.notices }, io);
  if (workerId === undefined) for (const notice of checked.notices) logger.warn(notice);

  let running: RunningServer;
  let tracing: OtlpTracing | undefined;
  try {
    // OTLP trace export when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER=otlp) asks for it.
    tracing = startOtlpTracing(runEnv);
    const pickUp = pickUpFilter(runEnv[WORKER_ENV.pickUp]);
    running = await startFromConfig(config, logger, pickUp ? { pickUp } : {});
  } catch (err) {
    await tracing?.shutdown().catch(() => {});
    io.err(`colloquy start: cannot start — fix this:`);
    io.err(`  ✗ ${listenProblem(err, config)}`);
    return 1;
  }
  if (tracing) {
    // The spans of the sessions just ended leave before the process does.
    const close = running.close;
    const exporter = tracing;
    running.close = async (reason) => {
      await close(reason);
      await exporter
        .shutdown()
        .catch((err: unknown) => logger.warn('OTLP trace export: final flush failed', err));
    };
  }
  if (workerId !== undefined) {
    // A worker of `--workers N`: the primary speaks for it; it reports where it listens.
    reportToPrimary(running.port);
    // The primary is gone (killed): leave like a killed server, sessions stay resumable in the store.
    process.once('disconnect', () => process.exit(1));
    // Ctrl+C reaches the whole process group: the primary's SIGTERM alone stops a worker.
    process.on('SIGINT', () => {});
    return waitForSignal(running, { out: () => {}, err: io.err }, ['SIGTERM']);
  }
  printBanner(running.url, config, runEnv, io);
  return waitForSignal(running, io, ['SIGINT', 'SIGTERM']);
}

/** What `colloquy start` prints once it listens. */
export function printBanner(url: string, config: ServerConfig, runEnv: Env, io: CliIo): void {
  const demo = !runEnv.COLLOQUY_CONFIG && config.defaults.llm.startsWith('scripted:');
  io.out(`Colloquy listening on ${url}`);
  io.out(`  playground       ${url}/`);
  io.out(`  POST ${url}/connect   (Pipecat startBotAndConnect endpoint)`);
  io.out(`  GET  ${url.replace(/^http/, 'ws')}/ws   (Pipecat WebSocket transport)`);
  if (hasOptional('@roamhq/wrtc')) io.out(`  POST ${url}/api/offer   (SmallWebRTC)`);
  if (hasOptional('@roamhq/wrtc') && hasOptional('@livekit/protocol')) {
    io.out(`  POST ${url}/livekit/connection-details   (LiveKit rooms, livekit-client)`);
  }
  io.out(
    `  models: llm=${config.defaults.llm} stt=${config.defaults.stt} tts=${config.defaults.tts} vad=${config.defaults.vad}`,
  );
  if (demo) io.out('  offline demo: ask "what time is breakfast" or "show me the map"');
  if (config.authToken) io.out('  auth: Bearer token required (COLLOQUY_AUTH_TOKEN)');
}

function waitForSignal(running: RunningServer, io: CliIo, signals: NodeJS.Signals[]): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return resolve(130); // a second signal: stop waiting
      stopping = true;
      // A node of a cluster drains on SIGTERM: out of the pool, sessions finish (up to the drain timeout).
      const drainMs = signal === 'SIGTERM' ? running.context.config.cluster?.drainTimeoutMs : undefined;
      io.out(
        drainMs !== undefined
          ? `${signal}: draining ${running.context.registry.activeCount} session(s) (up to ${drainMs} ms)`
          : `${signal}: ending ${running.context.registry.activeCount} session(s)`,
      );
      const force = setTimeout(
        () => {
          io.err('colloquy start: sessions did not close in time; exiting');
          resolve(1);
        },
        5000 + (drainMs ?? 0),
      );
      force.unref();
      const drained = drainMs !== undefined ? running.drain(drainMs) : Promise.resolve();
      drained
        .then(() => running.close('server_shutdown'))
        .then(
          () => {
            clearTimeout(force);
            io.out('Colloquy stopped');
            resolve(0);
          },
          (err: unknown) => {
            io.err(`colloquy start: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
            resolve(1);
          },
        );
    };
    for (const signal of signals) process.on(signal, () => stop(signal));
  });
}
