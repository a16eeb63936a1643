/**
 * `VideoAgent` (seed 001): a `VoiceAgent` that also sees. Camera frames (`video_frame`) are checked
 * and kept in a ring of the last `maxContextFrames`; every user turn hands them to the (vision)
 * model as image parts (`text` then carries `hasImage: true`). Frame facts go through the bus like
 * everything else (`video.frame` → `frame_received` + `frame_ack`, `video.frame.requested` →
 * `frame_requested` + `capture_frame`, `config.changed` → `config_changed`).
 */
import { randomBytes } from 'node:crypto';
import type { FrameTriggerReason } from '../../bus/events.ts';
import { InvalidInputError } from '../../errors.ts';
import type { UserImage } from '../../session/session-options.ts';
import { parseClientMessage, type VideoFrameMessage } from '../native-protocol/client-messages.ts';
import type { ResponseCompleteFields } from '../native-protocol/server-messages.ts';
import { decodeFrame, FrameBuffer } from './frame-buffer.ts';
import { DEFAULT_VIDEO_INSTRUCTIONS, type VideoAgentConfig, type VideoAgentOptions } from './options.ts';
import { VoiceAgent } from './voice-agent.ts';

const TRIGGER_REASONS: ReadonlySet<string> = new Set<FrameTriggerReason>([
  'scene_change',
  'user_request',
  'timer',
  'initial',
]);

/** `vs_<time base36>_<8 random base36 chars>`, like the reference. */
export function newVideoSessionId(): string {
  const random = BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString(36)
    .padStart(8, '0')
    .slice(-8);
  return `vs_${Date.now().toString(36)}_${random}`;
}

/**
 * A `VoiceAgent` that also sees: camera frames are kept (the last `maxContextFrames`) and given to
 * the vision model with every user turn.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { VideoAgent } from 'colloquy';
 * import { readFile } from 'node:fs/promises';
 *
 * const agent = new VideoAgent({ model: openai('gpt-4o'), maxContextFrames: 5 });
 * const answer = await agent.sendFrame(await readFile('snapshot.jpg'), 'What is on the desk?', { format: 'jpeg' });
 * console.log(answer);
 * agent.destroy();
 * ```
 */
export class VideoAgent extends VoiceAgent {
  readonly sessionId: string;
  private readonly frames: FrameBuffer;
  private config: VideoAgentConfig;
  /** Sequence numbers of frames added with `sendFrame`. */
  private ownSequence = 0;

  constructor(options: VideoAgentOptions) {
    if (options?.realtime) {
      // Its camera frames go to the model with each user turn, which a realtime session has no way to do.
      throw new InvalidInputError(
        'invalid_options',
        'VideoAgent does not run on a realtime model (its frames need a vision LLM); use VoiceAgent',
      );
    }
    const sessionId = options.sessionId ?? newVideoSessionId();
    super(
      { ...options, instructions: options.instructions ?? DEFAULT_VIDEO_INSTRUCTIONS },
      { sessionId, maxFrameBytes: options.maxFrameInputSize },
    );
    this.sessionId = sessionId;
    const maxContextFrames = options.maxContextFrames ?? 10;
    assertFrameCount(maxContextFrames);
    this.config = { maxContextFrames };
    this.frames = new FrameBuffer(maxContextFrames);
  }

  get currentFrameSequence(): number | undefined {
    return this.frames.latest?.sequence;
  }

  get hasVisualContext(): boolean {
    return this.frames.size > 0;
  }

  getFrameContext(): { frameCount: number; lastFrameSequence: number } | undefined {
    return this.frames.context();
  }

  getConfig(): VideoAgentConfig {
    return { ...this.config };
  }

  /** The session id sent in `session_init` (the reference's accessor). */
  getSessionId(): string {
    return this.sessionId;
  }

  /**
   * Adds a frame from application code (base64 or bytes), handled like a client's `video_frame`
   * (validated, `frame_received`, `frame_ack` to a connected client); with `query`, also asks about
   * it as a user turn and resolves with the answer ('' without a query).
   */
  async sendFrame(
    data: string | Uint8Array,
    query?: string,
    options: { format?: string; width?: number; height?: number; triggerReason?: FrameTriggerReason } = {},
  ): Promise<string> {
    this.assertAlive('sendFrame');
    const base64 = typeof data === 'string' ? data : Buffer.from(data).toString('base64');
    // Validated as a client's frame would be (format, base64, `maxFrameInputSize`).
    const message = parseClientMessage(
      JSON.stringify({
        type: 'video_frame',
        sessionId: this.sessionId,
        sequence: ++this.ownSequence,
        timestamp: Date.now(),
        triggerReason: options.triggerReason ?? 'user_request',
        image: {
          data: base64,
          format: options.format ?? 'webp',
          width: options.width ?? 640,
          height: options.height ?? 480,
        },
      }),
      { ...this.limits, maxMessageBytes: Number.POSITIVE_INFINITY },
    ) as VideoFrameMessage;
    const frame = decodeFrame(message);
    if (frame instanceof Error) throw frame;
    this.clientFrame(message);
    return query === undefined ? '' : this.sendText(query);
  }

  /** Asks the client for a fresh frame: `frame_requested` event and `capture_frame` message. */
  requestFrameCapture(reason: FrameTriggerReason): void {
    this.assertAlive('requestFrameCapture');
    if (!TRIGGER_REASONS.has(reason)) {
      throw new InvalidInputError(
        'invalid_trigger_reason',
        `Unknown frame trigger reason "${String(reason)}"`,
      );
    }
    this.bus.publish('video.frame.requested', { sessionId: this.session.sessionId, reason });
  }

  /** Changes the configuration; emits `config_changed` with the whole new config. */
  updateConfig(config: Partial<VideoAgentConfig>): void {
    this.assertAlive('updateConfig');
    const next = { ...this.config, ...config };
    assertFrameCount(next.maxContextFrames);
    this.config = next;
    this.frames.setMax(next.maxContextFrames);
    this.bus.publish('config.changed', { sessionId: this.session.sessionId, config: { ...next } });
  }

  override clearHistory(): void {
    super.clearHistory();
    this.frames.clear();
  }

  override clientFrame(message: VideoFrameMessage): void {
    const frame = decodeFrame(message);
    if (frame instanceof Error) {
      this.rejectInput(frame);
      return;
    }
    this.frames.push(frame);
    this.bus.publish('video.frame', {
      sessionId: this.session.sessionId,
      sequence: frame.sequence,
      timestamp: frame.timestamp,
      triggerReason: frame.triggerReason,
      size: frame.bytes.byteLength,
      dimensions: { width: frame.width, height: frame.height },
    });
  }

  override sessionInit(): { sessionId: string; video: boolean } {
    return { sessionId: this.sessionId, video: true };
  }

  override responseExtras(): Partial<ResponseCompleteFields> {
    const frameContext = this.frames.context();
    return { sessionId: this.sessionId, ...(frameContext ? { frameContext } : {}) };
  }

  /** Announces the session as soon as a socket attaches (and again on `client_ready`). */
  override onAttached(): void {
    this.link.send(this.link.sessionInitMessage());
  }

  protected override onClientInput(): void {
    this.bus.publish('video.frame.requested', { sessionId: this.session.sessionId, reason: 'user_request' });
  }

  protected override imagesForTurn(): UserImage[] {
    return this.frames.images();
  }
}

function assertFrameCount(n: unknown): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100) {
    throw new InvalidInputError(
      'invalid_config',
      `maxContextFrames must be an integer from 1 to 100, got ${String(n)}`,
    );
  }
}
