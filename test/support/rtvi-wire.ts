/**
 * An RTVI session (`createRtviSession`) on an in-process wire: the test plays the client by handing
 * the session raw RTVI messages, mic frames and the wire's close, and reads back what the session sent
 * (each message as JSON would carry it). The models are the offline demo's (scripted LLM, energy VAD),
 * optionally with a given TTS. Each `startRtvi` registers its session on `sessions` for the test's
 * teardown (`closeAll`).
 */
import type { Logger } from '../../src/logger.ts';
import type { TtsModel } from '../../src/providers/types.ts';
import {
  loadServerConfig,
  type RequestData,
  resolveProfile,
  type ServerConfig,
} from '../../src/server/config.ts';
import type { ServerLimits } from '../../src/server/limits.ts';
import {
  createRtviSession,
  type RtviSession,
  type RtviSessionOptions,
} from '../../src/server/rtvi-session.ts';
import type { RtviTransport, RtviTransportCloseReason } from '../../src/server/rtvi-transport.ts';
import { ModelCache, type SessionModels } from '../../src/server/session-factory.ts';
import { SPECIFICATION_VERSIONS } from '../../src/specification-version.ts';
import { recordingLogger as keepLines } from './recording-logger.ts';

export interface WireMessage {
  label: string;
  type: string;
  id?: string;
  data?: any;
}

/** The client's end of an in-process RTVI transport. */
export class FakeWire implements RtviTransport {
  readonly specificationVersion = SPECIFICATION_VERSIONS.transport;
  /** What the session sent, as JSON carries it (undefined keys dropped). */
  readonly sent: WireMessage[] = [];
  audioFrames = 0;
  /** The sample rate of each bot audio frame sent. */
  readonly audioRates: number[] = [];
  clears = 0;
  closes = 0;
  /** Throws instead of sending a message of this type (a broken wire, a handler failure). */
  failOn: string | undefined;
  private messageHandler: (raw: unknown) => void = () => {};
  private audioHandler: (frame: Int16Array, sampleRate: number) => void = () => {};
  private closeHandler: (reason: RtviTransportCloseReason) => void = () => {};

  constructor(readonly name = 'fake-wire') {}

  sendMessage(message: object): void {
    if (this.failOn !== undefined && (message as { type?: string }).type === this.failOn) {
      throw new Error(`the wire cannot carry "${this.failOn}"`);
    }
    this.sent.push(JSON.parse(JSON.stringify(message)));
  }
  sendAudio(_frame: Int16Array, sampleRate: number): void {
    this.audioFrames++;
    this.audioRates.push(sampleRate);
  }
  clearAudio(): void {
    this.clears++;
  }
  onMessage(handler: (raw: unknown) => void): void {
    this.messageHandler = handler;
  }
  onAudio(handler: (frame: Int16Array, sampleRate: number) => void): void {
    this.audioHandler = handler;
  }
  onClose(handler: (reason: RtviTransportCloseReason) => void): void {
    this.closeHandler = handler;
  }
  close(): void {
    this.closes++;
  }

  /** The client sends one message (an object, or JSON text as a socket delivers it). */
  receive(raw: unknown): void {
    this.messageHandler(raw);
  }
  /** The client sends `{label: 'rtvi-ai', type, id, data}`. */
  send(type: string, data?: unknown, id?: string): void {
    this.receive({
      label: 'rtvi-ai',
      type,
      ...(id === undefined ? {} : { id }),
      ...(data === undefined ? {} : { data }),
    });
  }
  mic(frame: Int16Array, sampleRate: number): void {
    this.audioHandler(frame, sampleRate);
  }
  /** The wire closes from the client's side. */
  drop(reason: RtviTransportCloseReason): void {
    this.closeHandler(reason);
  }
  /** Messages of `type` sent so far. */
  ofType(type: string): WireMessage[] {
    return this.sent.filter((m) => m.type === type);
  }
  /** The answer to the request `id`. */
  answer(id: string): WireMessage | undefined {
    return this.sent.find((m) => m.id === id && m.type !== 'bot-ready');
  }
  /** `client-ready` (protocol 2.1.0). */
  ready(id = 'ready-01'): void {
    this.send(
      'client-ready',
      { version: '2.1.0', about: { library: 'fake-wire-test', library_version: '1.0' } },
      id,
    );
  }
}

/** A logger that keeps its lines, `[level, message, ...meta]`. */
export function recordingLogger(): Logger & { lines: unknown[][] } {
  const { logger, lines } = keepLines();
  return Object.assign(logger, { lines });
}

/** The demo's models, with `tts` in place of the configured TTS when given. */
class TestModels extends ModelCache {
  constructor(
    config: ServerConfig,
    private readonly tts: TtsModel | undefined,
  ) {
    super(config.baseDir);
  }
  override models(specs: Parameters<ModelCache['models']>[0]): SessionModels {
    const models = super.models(specs);
    return this.tts ? { ...models, tts: this.tts } : models;
  }
}

export interface StartRtviOptions
  extends Partial<Omit<RtviSessionOptions, 'transport' | 'profile' | 'config'>> {
  wire?: FakeWire;
  env?: Record<string, string>;
  requestData?: RequestData;
  /** Limits over the defaults. */
  limits?: Partial<ServerLimits>;
  tts?: TtsModel;
  /** Edits the config before the session is built. */
  edit?: (config: ServerConfig) => ServerConfig;
  greeting?: string;
}

export interface StartedRtvi {
  rtvi: RtviSession;
  wire: FakeWire;
  config: ServerConfig;
  logger: ReturnType<typeof recordingLogger>;
}

/** Sessions started by `startRtvi`, closed by `closeAll` (call it in `afterEach`). */
const started: RtviSession[] = [];

export function startRtvi(options: StartRtviOptions = {}): StartedRtvi {
  const { wire = new FakeWire(), env, requestData, limits, tts, edit, greeting, ...rest } = options;
  let config = loadServerConfig({ COLLOQUY_VAD: 'energy', COLLOQUY_RESUME_WINDOW_MS: '0', ...env });
  if (limits) config = { ...config, limits: { ...config.limits, ...limits } };
  if (edit) config = edit(config);
  const profile = resolveProfile(config, requestData);
  delete profile.greeting;
  if (greeting !== undefined) profile.greeting = greeting;
  const logger = recordingLogger();
  const rtvi = createRtviSession({
    transport: wire,
    profile,
    config,
    logger,
    models: new TestModels(config, tts),
    ...rest,
  });
  started.push(rtvi);
  return { rtvi, wire, config, logger };
}

/** Closes every session `startRtvi` started (and waits for each to end). */
export async function closeAll(): Promise<void> {
  for (const rtvi of started.splice(0)) {
    await rtvi.close('test_done');
    await rtvi.closed;
  }
}
