import { describe, expect, it } from 'vitest';
import type { VideoFrameMessage } from '../native-protocol/client-messages.ts';
import {
  decodeFrame,
  FrameBuffer,
  normalizeImageFormat,
  type StoredFrame,
  sniffImageFormat,
} from './frame-buffer.ts';

const SIGNATURES = {
  jpeg: [0xff, 0xd8, 0xff, 0xe0],
  png: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  gif: [...Buffer.from('GIF89a')],
  webp: [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP')],
} as const;

function message(format: string, bytes: readonly number[]): VideoFrameMessage {
  return {
    type: 'video_frame',
    sequence: 4,
    timestamp: 1234,
    triggerReason: 'scene_change',
    image: { data: Buffer.from(bytes).toString('base64'), format, width: 640, height: 480 },
  };
}

function stored(sequence: number): StoredFrame {
  return {
    sequence,
    timestamp: sequence,
    triggerReason: 'timer',
    format: 'png',
    bytes: Uint8Array.of(sequence),
    width: 1,
    height: 1,
  };
}

describe('image formats', () => {
  it('normalises declared formats: aliases, media types, case and spaces', () => {
    const cases: Array<[string, string | undefined]> = [
      ['jpeg', 'jpeg'],
      ['JPG', 'jpeg'],
      [' image/png ', 'png'],
      ['image/webp', 'webp'],
      ['gif', 'gif'],
      ['bmp', undefined],
      ['image/', undefined],
      ['x-image/png', undefined],
    ];
    for (const [declared, format] of cases) expect(normalizeImageFormat(declared), declared).toBe(format);
  });

  it('tells each type by its signature, and needs the whole signature', () => {
    for (const [format, bytes] of Object.entries(SIGNATURES)) {
      expect(sniffImageFormat(Uint8Array.from(bytes)), format).toBe(format);
    }
    expect(sniffImageFormat(Uint8Array.of(0xff, 0xd8))).toBeUndefined();
    expect(sniffImageFormat(Uint8Array.of(0xff, 0xd8, 0xff))).toBe('jpeg'); // the whole JPEG signature is 3 bytes
    expect(sniffImageFormat(Uint8Array.of(0xff, 0xd8, 0x00))).toBeUndefined();
    expect(sniffImageFormat(Uint8Array.of(0x89, 0x50, 0x4e, 0x47))).toBeUndefined();
    expect(sniffImageFormat(Uint8Array.of(0x89, 0x50, 0x4e, 0x00, 0, 0, 0, 0))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('GIF8'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('GIF7a_'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('GIX89a'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('GXF89a'))).toBeUndefined();
    // Every byte of each signature counts: each one changed in turn is no longer that type.
    for (const [format, bytes] of Object.entries(SIGNATURES)) {
      const checked =
        format === 'webp' ? [0, 1, 2, 3, 8, 9, 10, 11] : format === 'jpeg' ? [0, 1, 2] : [0, 1, 2, 3];
      for (const i of checked) {
        const changed = Uint8Array.from(bytes);
        changed[i] = 0x20;
        expect(sniffImageFormat(changed), `${format} byte ${i}`).toBeUndefined();
      }
    }
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WAVE'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEB'))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array(0))).toBeUndefined();
  });
});

describe('decodeFrame', () => {
  it('decodes a frame whose bytes are the declared type', () => {
    const frame = decodeFrame(message('image/jpeg', SIGNATURES.jpeg));
    expect(frame).toEqual({
      sequence: 4,
      timestamp: 1234,
      triggerReason: 'scene_change',
      format: 'jpeg',
      bytes: Buffer.from(SIGNATURES.jpeg),
      width: 640,
      height: 480,
    });
  });

  it('refuses an unknown format, naming it (cut to 32 characters)', () => {
    const error = decodeFrame(message(`tiff${'x'.repeat(40)}`, SIGNATURES.jpeg));
    expect(error).toMatchObject({
      code: 'invalid_image',
      details: { messageType: 'video_frame', field: 'image.format' },
    });
    expect((error as Error).message).toBe(
      `Unsupported image format "tiff${'x'.repeat(28)}"; use jpeg, png, webp or gif`,
    );
  });

  it('refuses bytes of another type, or of no known type', () => {
    const other = decodeFrame(message('png', SIGNATURES.gif));
    expect(other).toMatchObject({ code: 'invalid_image', details: { field: 'image.data' } });
    expect((other as Error).message).toBe('image.data is not a png image (it is gif)');
    const unknown = decodeFrame(message('png', [1, 2, 3, 4, 5, 6, 7, 8]));
    expect((unknown as Error).message).toBe('image.data is not a png image');
  });
});

describe('FrameBuffer', () => {
  it('keeps the last frames up to its bound, oldest first', () => {
    const b = new FrameBuffer(2);
    expect([b.size, b.latest, b.context()]).toEqual([0, undefined, undefined]);
    b.push(stored(1));
    b.push(stored(2));
    b.push(stored(3));
    expect(b.size).toBe(2);
    expect(b.latest?.sequence).toBe(3);
    expect(b.context()).toEqual({ frameCount: 2, lastFrameSequence: 3 });
    expect(b.images()).toEqual([
      { data: Uint8Array.of(2), mediaType: 'image/png' },
      { data: Uint8Array.of(3), mediaType: 'image/png' },
    ]);
  });

  it('latest is the newest frame, however many are kept', () => {
    const b = new FrameBuffer(3);
    b.push(stored(1));
    expect([b.latest?.sequence, b.context()]).toEqual([1, { frameCount: 1, lastFrameSequence: 1 }]);
    b.push(stored(2));
    b.push(stored(3));
    expect([b.latest?.sequence, b.context()]).toEqual([3, { frameCount: 3, lastFrameSequence: 3 }]);
  });

  it('a lower bound drops the oldest frames at once; a higher one keeps more from then on', () => {
    const b = new FrameBuffer(3);
    for (const s of [1, 2, 3]) b.push(stored(s));
    b.setMax(1);
    expect(b.images().map((i) => i.data[0])).toEqual([3]);
    b.setMax(3);
    b.push(stored(4));
    b.push(stored(5));
    expect(b.images().map((i) => i.data[0])).toEqual([3, 4, 5]);
    b.setMax(3);
    expect(b.size).toBe(3);
  });

  it('clear empties it', () => {
    const b = new FrameBuffer(2);
    b.push(stored(1));
    b.clear();
    expect([b.size, b.context(), b.images()]).toEqual([0, undefined, []]);
  });
});
