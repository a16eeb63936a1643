/**
 * `colloquy console`: a terminal client. It speaks RTVI over the Pipecat WebSocket transport (the
 * same wire as the browser clients), to a running server (`--url`) or to the agent run in-process,
 * and prints the conversation's events as they arrive. Lines typed are sent as `send-text`; with
 * sox's `rec` and `play` on PATH (and no `--text`), the microphone streams 16 kHz PCM in and the
 * bot's audio plays out.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { ConfigError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import { createConsoleLogger, isLogLevel } from '../logger.ts';
import { preflight } from '../server/preflight.ts';
import type { RunningServer } from '../server/server.ts';
import { decodeFrame, encodeAudioFrame, encodeMessageFrame } from '../transports/pipecat-websocket/frames.ts';
import { parseArgs } from './args.ts';
import { type ConsoleAudio, findSoundPrograms, MIC_RATE, startConsoleAudio } from './console-audio.ts';
import type { CliIo } from './io.ts';
import { envWithFlags, startFromConfig } from './start.ts';

type Env = Record<string, string | undefined>;
interface RtviMessage {
  label?: string;
  type?: string;
  data?: Record<string, unknown>;
}

/** One printed line for an RTVI message, or undefined for messages not shown. */
export function describeMessage(m: RtviMessage): string | undefined {
  const d = m.data ?? {};
  switch (m.type) {
    case 'bot-ready':
      return '● agent ready';
    case 'user-transcription':
      return d.final ? `you: ${String(d.text ?? '')}` : undefined;
    case 'user-started-speaking':
      return '… you are speaking';
    case 'bot-interrupted':
      return `✂ interrupted${d.reason ? ` (${String(d.reason)})` : ''}`;
    case 'llm-function-call-started':
      return undefined;
    case 'llm-function-call-in-progress':
      return `⚙ ${String(d.function_name)}(${JSON.stringify(d.arguments ?? {})})`;
    case 'metrics': {
      if (d.total_latency_ms === undefined) return undefined;
      const parts = [
        ['stt', d.stt_latency_ms],
        ['llm', d.llm_ttfb_ms],
        ['tts', d.tts_ttfb_ms],
      ]
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => `${k} ${Math.round(v as number)}`);
      return `⏱ turn ${Math.round(d.total_latency_ms as number)} ms${parts.length ? ` (${parts.join(', ')})` : ''}`;
    }
    case 'error':
      return `✗ error: ${String(d.message ?? d.error ?? JSON.stringify(d))}`;
    case 'error-response':
      return `✗ refused: ${String(d.error ?? JSON.stringify(d))}`;
    case 'server-message': {
      const inner = d as { type?: string; data?: unknown };
      if (inner.type === 'bot-ready') return undefined;
      if (inner.type === 'conversation-start') return '● conversation started';
      if (inner.type === 'conversation-end') {
        return `● conversation ended (${String((inner.data as { reason?: unknown })?.reason ?? '')})`;
      }
      return `⇢ ${String(inner.type)} ${JSON.stringify(inner.data ?? null)}`;
    }
    default:
      return undefined;
  }
}

/** POST /connect (with the token and `requestData`), returning the WebSocket URL it hands out. */
async function connectUrl(
  url: string,
  token: string | undefined,
  requestData: Record<string, unknown>,
): Promise<string> {
  const base = url.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(requestData),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ConfigError('console_unreachable', `cannot reach ${base}: ${(err as Error).message}`);
  }
  if (!res.ok)
    throw new ConfigError(
      'console_refused',
      `${base}/connect answered ${res.status}: ${(await res.text()).slice(0, 200)}`,
    );
  const body = (await res.json()) as { ws_url?: unknown };
  if (typeof body.ws_url !== 'string')
    throw new ConfigError('console_refused', `${base}/connect gave no ws_url`);
  return body.ws_url;
}

export async function consoleCommand(argv: readonly string[], env: Env, io: CliIo): Promise<number> {
  const { flags } = parseArgs(argv, {
    valued: ['url', 'token', 'config', 'port', 'host', 'mic-file', 'speaker-file'],
    switches: ['text'],
  });
  const url = flags.get('url');
  const micFile = flags.get('mic-file') as string | undefined;
  const speakerFile = flags.get('speaker-file') as string | undefined;
  if (flags.has('text') && (micFile !== undefined || speakerFile !== undefined))
    throw new ConfigError('invalid_argument', '--text leaves sound off: drop --mic-file and --speaker-file');
  const sound = flags.has('text')
    ? undefined
    : await findSoundPrograms({
        ...(micFile !== undefined ? { micFile } : {}),
        ...(speakerFile !== undefined ? { speakerFile } : {}),
      });
  const token = (flags.get('token') as string | undefined) ?? env.COLLOQUY_AUTH_TOKEN;
  let server: RunningServer | undefined;
  let base: string;
  if (typeof url === 'string') {
    base = url;
  } else {
    const runEnv: Env = { ...envWithFlags(env, flags), PORT: '0', HOST: '127.0.0.1' };
    const checked = await preflight(runEnv);
    if (checked.problems.length > 0 || !checked.config) {
      io.err('colloquy console: cannot run the agent — fix these:');
      for (const problem of checked.problems) io.err(`  ✗ ${problem}`);
      return 1;
    }
    const logger = createConsoleLogger({
      level: isLogLevel(runEnv.COLLOQUY_LOG_LEVEL) ? runEnv.COLLOQUY_LOG_LEVEL : 'warn',
      write: (line) => io.err(line),
    });
    server = await startFromConfig({ ...checked.config, port: 0, host: '127.0.0.1' }, logger);
    base = server.url;
  }

  // `--text` asks for a text chat: no speech pipeline on the server, answers arrive at once.
  const wsUrl = await connectUrl(base, token, sound ? {} : { text_only: true });
  const ws = new WebSocket(wsUrl, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (err) =>
      reject(new ConfigError('console_unreachable', `cannot open ${wsUrl}: ${err.message}`)),
    );
  });
  const send = (type: string, data: unknown) =>
    ws.send(
      encodeMessageFrame({ label: 'rtvi-ai', type, id: Math.random().toString(36).slice(2, 10), data }),
    );

  const audio: ConsoleAudio | undefined = sound
    ? startConsoleAudio(sound, {
        ...(micFile !== undefined ? { micFile } : {}),
        ...(speakerFile !== undefined ? { speakerFile } : {}),
        send: (pcm) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(encodeAudioFrame(pcm, MIC_RATE));
        },
        onError: (line) => io.err(line),
      })
    : undefined;
  io.out(
    `Connected to ${base}${audio ? ` (${audio.description}: speak, or type)` : ' (text: type a message and press Enter)'}; /quit or Ctrl-D to leave`,
  );

  // The agent has answered what was sent when its unspoken answer (`bot-output`, text chat) came
  // after the last send, or a frame arrived after it and then 1 s passed without another (at most
  // 60 s). Input that ends (Ctrl-D, a piped file) leaves then.
  let lastSendAt = 0;
  let lastMessageAt = 0;
  /** A turn's `bot-output` arrived since the last send. */
  let answered = false;
  const settled = (beforeFirst: boolean) =>
    new Promise<void>((resolve) => {
      const started = Date.now();
      const tick = setInterval(() => {
        const quiet = lastMessageAt > lastSendAt && Date.now() - lastMessageAt > 1000;
        if (answered || quiet || (lastSendAt === 0 && !beforeFirst) || Date.now() - started > 60_000) {
          clearInterval(tick);
          resolve();
        }
      }, 100);
    });
  let agentLine = '';
  /** The streamed answer of the current turn was printed (its `bot-output` is not printed again). */
  let streamed = false;
  const flushAgent = () => {
    if (agentLine) io.out(`agent: ${agentLine.trim()}`);
    agentLine = '';
  };
  ws.on('message', (raw, isBinary) => {
    if (!isBinary) return;
    const decoded = decodeFrame(raw as Buffer);
    if (!decoded.ok) return;
    const frame = decoded.frame;
    lastMessageAt = Date.now();
    if (frame.type === 'audio') {
      audio?.play(frame.audio, frame.sampleRate || 24_000);
      return;
    }
    if (frame.type !== 'message') return;
    const parsed = parseJsonWithLimits(frame.data, { maxDepth: 32, maxBytes: 4 * 1024 * 1024 });
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return;
    const m = parsed.value as RtviMessage;
    if (m.type === 'bot-llm-text') {
      agentLine += String(m.data?.text ?? '');
      streamed = true;
      return;
    }
    if (m.type === 'bot-output' && m.data?.spoken === false && m.data.aggregated_by === 'turn') {
      // A turn's unspoken answer (a text chat): the greeting and stream-mode replies have no LLM text.
      flushAgent();
      if (!streamed) io.out(`agent: ${String(m.data.text ?? '').trim()}`);
      streamed = false;
      answered = true;
      return;
    }
    if (m.type === 'bot-llm-stopped') return flushAgent();
    if (m.type === 'bot-interrupted') audio?.clear();
    const line = describeMessage(m);
    if (line) {
      flushAgent();
      io.out(line);
    }
  });
  send('client-ready', { version: '2.1.0', about: { library: 'colloquy-console' } });

  const input = createInterface({ input: process.stdin, terminal: false });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  // Typed lines go at once (talking over the agent interrupts it, as speech does); piped lines go
  // one by one, each once the agent has gone quiet, so a script of lines is a conversation.
  const interactive = process.stdin.isTTY === true;
  let queue = Promise.resolve();
  const ended = new Promise<'input' | 'socket'>((resolve) => {
    input.on('line', (line) => {
      const text = line.trim();
      if (!text) return;
      queue = queue.then(async () => {
        if (!interactive) await settled(true);
        if (text === '/quit') return resolve('input');
        lastSendAt = Date.now();
        streamed = false;
        answered = false;
        send('send-text', { content: text });
      });
    });
    input.once('close', () => void queue.then(() => settled(false)).then(() => resolve('input')));
    void closed.then(() => resolve('socket'));
  });
  const why = await ended;
  input.close();
  await audio?.stop();
  if (why === 'input') {
    send('disconnect-bot', {});
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    ws.terminate();
  }
  flushAgent();
  if (server) await server.close('client_disconnected');
  return 0;
}
