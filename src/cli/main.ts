/**
 * The `colloquy` command.
 *
 *   colloquy start     run the server (config from the environment, see docs/server.md)
 *   colloquy help      this text
 *
 * With no API key and no COLLOQUY_CONFIG, `start` runs the bundled offline demo (scripted LLM,
 * pocketsphinx grammar, espeak, Silero). The process always ends with an explicit `process.exit`
 * (the WebRTC binding crashes at natural exit).
 */
import { ColloquyError } from '../errors.ts';
import { createConsoleLogger, type Logger } from '../logger.ts';
import { loadServerConfig, type ServerConfig } from '../server/config.ts';
import { liveKitAvailable, registerLiveKitRoutes } from '../server/livekit-routes.ts';
import { type RunningServer, startServer } from '../server/server.ts';

export const USAGE = `Usage: colloquy <command>

Commands:
  start   Start the voice agent server (Pipecat RTVI over WebSocket and SmallWebRTC)
  help    Show this help

Environment: PORT, HOST, COLLOQUY_AUTH_TOKEN, COLLOQUY_CONFIG, COLLOQUY_LLM, COLLOQUY_STT,
COLLOQUY_TTS, COLLOQUY_VAD, COLLOQUY_RTVI_EVENTS, COLLOQUY_IDLE_TIMEOUT_MS, COLLOQUY_LOG_LEVEL
(docs/server.md).`;

/** Starts the server with SmallWebRTC routes when the WebRTC binding loads. */
export async function startFromConfig(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  let webrtc: { closeAll(reason?: string): Promise<void> } | undefined;
  let registerWebRtc: typeof import('../server/webrtc-routes.ts').registerWebRtcRoutes | undefined;
  try {
    ({ registerWebRtcRoutes: registerWebRtc } = await import('../server/webrtc-routes.ts'));
  } catch (err) {
    logger.warn(`SmallWebRTC disabled: ${(err as Error).message}`);
  }
  let liveKit: { closeAll(reason?: string): Promise<void> } | undefined;
  const registerLiveKit = liveKitAvailable(logger) ? registerLiveKitRoutes : undefined;
  const running = await startServer({
    config,
    logger,
    registerRoutes: (app, ctx) => {
      if (registerWebRtc)
        webrtc = registerWebRtc(app, { config, logger, models: ctx.models, registry: ctx.registry });
      if (registerLiveKit) liveKit = registerLiveKit(app, ctx);
    },
  });
  const close = running.close;
  running.close = async (reason) => {
    await Promise.allSettled([webrtc?.closeAll(reason), liveKit?.closeAll(reason), close(reason)]);
  };
  return running;
}

export async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'help';
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (command !== 'start') {
    console.error(`Unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const logger = createConsoleLogger((process.env.COLLOQUY_LOG_LEVEL as never) ?? 'info');
  let config: ServerConfig;
  try {
    config = loadServerConfig(process.env);
  } catch (err) {
    console.error(err instanceof ColloquyError ? `Configuration error: ${err.message}` : err);
    return 1;
  }
  const running = await startFromConfig(config, logger);
  const demo = !process.env.COLLOQUY_CONFIG && config.defaults.llm.startsWith('scripted:');
  console.log(`Colloquy listening on ${running.url}`);
  console.log(`  POST ${running.url}/connect   (Pipecat startBotAndConnect endpoint)`);
  console.log(`  GET  ${running.url.replace(/^http/, 'ws')}/ws   (Pipecat WebSocket transport)`);
  console.log(`  POST ${running.url}/api/offer   (SmallWebRTC, requestData {transport: 'webrtc'})`);
  console.log(`  POST ${running.url}/livekit/connection-details   (LiveKit rooms, livekit-client)`);
  console.log(
    `  models: llm=${config.defaults.llm} stt=${config.defaults.stt} tts=${config.defaults.tts} vad=${config.defaults.vad}`,
  );
  if (demo) console.log('  offline demo: ask "what time is breakfast" or "show me the map"');
  if (config.authToken) console.log('  auth: Bearer token required (COLLOQUY_AUTH_TOKEN)');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return resolve(130); // second signal: give up waiting
      stopping = true;
      console.log(`\n${signal}: closing ${running.context.registry.activeCount} session(s)`);
      const force = setTimeout(() => resolve(1), 5000);
      force.unref();
      running.close('server_shutdown').then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly || process.env.COLLOQUY_CLI === '1') {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
