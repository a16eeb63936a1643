/**
 * VideoAgent's visual context: the last `maxContextFrames` accepted camera frames (ring buffer),
 * checked at the edge (declared format known, bytes really are that image type), and handed to the
 * model as image parts with the next user turn. Memory is bounded by frames × the frame size limit.
 */
import type { FrameTriggerReason } from '../../bus/events.ts';
import type { ColloquyError } from '../../errors.ts';
import type { UserImage } from '../../session/session-options.ts';
import { protocolError, type VideoFrameMessage } from '../native-protocol/client-messages.ts';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';

export interface StoredFrame {
  sequence: number;
  timestamp: number;
  triggerReason: FrameTriggerReason;
  format: ImageFormat;
  /** Decoded image bytes. */
  bytes: Uint8Array;
  width: number;
  height: number;
}

const FORMAT_ALIASES: Record<string, ImageFormat> = {
  jpeg: 'jpeg',
  jpg: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
};

/** 'webp', 'image/webp', 'JPG' ... → a known format, or undefined. */
export function normalizeImageFormat(format: string): ImageFormat | undefined {
  const key = format
    .trim()
    .toLowerCase()
    .replace(/^image\//, '');
  return FORMAT_ALIASES[key];
}

/** The image type the bytes' signature says, or undefined. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/** Decodes and checks a parsed `video_frame` (size and base64 were checked by the parser). */
export function decodeFrame(message: VideoFrameMessage): StoredFrame | ColloquyError {
  const format = normalizeImageFormat(message.image.format);
  if (format === undefined) {
    return protocolError(
      'invalid_image',
      `Unsupported image format "${message.image.format.slice(0, 32)}"; use jpeg, png, webp or gif`,
      'video_frame',
      { field: 'image.format' },
    );
  }
  const bytes = Buffer.from(message.image.data, 'base64');
  const actual = sniffImageFormat(bytes);
  if (actual !== format) {
    return protocolError(
      'invalid_image',
      `image.data is not a ${format} image${actual ? ` (it is ${actual})` : ''}`,
      'video_frame',
      { field: 'image.data' },
    );
  }
  return {
    sequence: message.sequence,
    timestamp: message.timestamp,
    triggerReason: message.triggerReason,
    format,
    bytes,
    width: message.image.width,
    height: message.image.height,
  };
}

export class FrameBuffer {
  private frames: StoredFrame[] = [];

  constructor(private max: number) {}

  get size(): number {
    return this.frames.length;
  }

  get latest(): StoredFrame | undefined {
    return this.frames.at(-1);
  }

  setMax(max: number): void {
    this.max = max;
    if (this.frames.length > max) this.frames = this.frames.slice(this.frames.length - max);
  }

  push(frame: StoredFrame): void {
    this.frames.push(frame);
    if (this.frames.length > this.max) this.frames.shift();
  }

  clear(): void {
    this.frames = [];
  }

  /** The frames as image parts for the model, oldest first. */
  images(): UserImage[] {
    return this.frames.map((f) => ({ data: f.bytes, mediaType: `image/${f.format}` }));
  }

  context(): { frameCount: number; lastFrameSequence: number } | undefined {
    const last = this.latest;
    return last ? { frameCount: this.frames.length, lastFrameSequence: last.sequence } : undefined;
  }
}
