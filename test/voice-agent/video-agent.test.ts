import type { LanguageModelV3FilePart, LanguageModelV3Message } from '@ai-sdk/provider';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { AgentDestroyedError } from '../../src/surfaces/voice-agent/errors.ts';
import { VideoAgent } from '../../src/surfaces/voice-agent/video-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { mockSpeechModel, openClient, type Recorded, recordEvents, startServer, until } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PNG = (n: number) => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, n, n, n]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const frame = (sequence: number, bytes: Buffer, format = 'png', over: Record<string, unknown> = {}) => ({
  type: 'video_frame',
  sessionId: 'client-side-id',
  sequence,
  timestamp: 1_700_000_000_000 + sequence,
  triggerReason: sequence === 1 ? 'initial' : 'timer',
  image: { data: bytes.toString('base64'), format, width: 640, height: 480 },
  ...over,
});

async function setup(options: { maxContextFrames?: number; maxFrameInputSize?: number } = {}) {
  const llm = mockLanguageModel(['I can see a test pattern.']);
  const agent = new VideoAgent({
    model: llm,
    speechModel: mockSpeechModel().model,
    logger: silentLogger,
    ...options,
  });
  const events = recordEvents(agent);
  const server = await startServer((socket) => agent.handleSocket(socket));
  const log = await openClient(server.url);
  cleanups.push(
    () => log.socket.terminate(),
    () => agent.destroy(),
    () => server.close(),
  );
  return { agent, llm, events, log };
}

const argsOf = (events: Recorded[], name: Recorded['name']) =>
  events.filter((e) => e.name === name).map((e) => e.args[0]);

describe('VideoAgent', () => {
  it('acks frames, asks for a frame on input, and gives the last maxContextFrames to the model as images', async () => {
    const { agent, llm, events, log } = await setup({ maxContextFrames: 2 });
    const init = await log.waitFor('session_init');
    expect(init.sessionId).toMatch(/^vs_[0-9a-z]+_[0-9a-z]{8}$/);
    expect(init.sessionId).toBe(agent.sessionId);
    // The session (its bus events, its store records) runs under the id the client was told.
    expect(agent.session.sessionId).toBe(agent.sessionId);
    for (const seq of [1, 2, 3]) log.send(frame(seq, PNG(seq)));
    await until(() => log.of('frame_ack').length === 3);
    expect(log.of('frame_ack').map((m) => m.sequence)).toEqual([1, 2, 3]);
    expect(argsOf(events, 'frame_received')[0]).toEqual({
      sequence: 1,
      timestamp: 1_700_000_000_001,
      triggerReason: 'initial',
      size: 11,
      dimensions: { width: 640, height: 480 },
    });

    log.send({ type: 'transcript', text: 'What do you see?' });
    await log.waitFor('speech_stream_end');
    expect(log.of('capture_frame')[0]).toMatchObject({
      reason: 'user_request',
      timestamp: expect.any(Number),
    });
    expect(argsOf(events, 'frame_requested')).toEqual([{ reason: 'user_request' }]);
    expect(argsOf(events, 'text')[0]).toEqual({ role: 'user', text: 'What do you see?', hasImage: true });

    // The vision model got the text and the two newest frames as image parts.
    const prompt = llm.calls[0]!.prompt as LanguageModelV3Message[];
    const user = prompt.findLast((m) => m.role === 'user')!;
    expect(user.content[0]).toEqual({ type: 'text', text: 'What do you see?' });
    const images = user.content.slice(1) as LanguageModelV3FilePart[];
    expect(images.map((p) => [p.type, p.mediaType])).toEqual([
      ['file', 'image/png'],
      ['file', 'image/png'],
    ]);
    expect(images.map((p) => Buffer.from(p.data as Uint8Array))).toEqual([PNG(2), PNG(3)]);
    // History keeps the text only; response_complete carries the video fields.
    expect(agent.getHistory()[0]).toEqual({ role: 'user', content: 'What do you see?' });
    expect(log.of('response_complete')[0]).toMatchObject({
      sessionId: agent.sessionId,
      frameContext: { frameCount: 2, lastFrameSequence: 3 },
    });
  });

  it('validates frames: empty → warning, too large / unknown format / wrong bytes → error', async () => {
    const { agent, events, log } = await setup({ maxFrameInputSize: 64 });
    const expectReply = async (message: unknown, code: string) => {
      const before = log.of('error').length;
      log.send(message);
      await until(() => log.of('error').length > before);
      expect(log.of('error')[before]).toMatchObject({ code, messageType: 'video_frame' });
    };
    await expectReply(frame(1, Buffer.alloc(0)), 'empty_frame');
    await expectReply(frame(2, Buffer.alloc(100, 1)), 'frame_too_large');
    await expectReply(frame(3, PNG(3), 'bmp'), 'invalid_image');
    await expectReply(frame(4, JPEG, 'png'), 'invalid_image');
    await expectReply(frame(5, PNG(5), 'png', { triggerReason: 'whenever' }), 'invalid_field');
    expect(argsOf(events, 'warning')).toHaveLength(1);
    expect(argsOf(events, 'error')).toHaveLength(4);
    expect(agent.hasVisualContext).toBe(false);
    log.send(frame(6, JPEG, 'image/jpeg'));
    await log.waitFor('frame_ack');
    expect(agent.currentFrameSequence).toBe(6);
  });

  it('requestFrameCapture, client_ready and updateConfig project to events and messages', async () => {
    const { agent, events, log } = await setup();
    await log.waitFor('session_init');
    agent.requestFrameCapture('scene_change');
    expect((await log.waitFor('capture_frame')).reason).toBe('scene_change');
    expect(argsOf(events, 'frame_requested')).toEqual([{ reason: 'scene_change' }]);
    log.send({ type: 'client_ready', capabilities: { video: true, fps: 1 } });
    await until(() => log.of('session_init').length === 2);
    expect(log.of('session_init')[1]).toMatchObject({
      sessionId: agent.sessionId,
      capabilities: { video: true },
    });
    expect(argsOf(events, 'client_ready')).toEqual([{ video: true, fps: 1 }]);
    agent.updateConfig({ maxContextFrames: 3 });
    expect(argsOf(events, 'config_changed')).toEqual([{ maxContextFrames: 3 }]);
    expect(() => agent.updateConfig({ maxContextFrames: 0 })).toThrow(/maxContextFrames/);
    // 1 to 100 frames: both ends accepted, one past either refused.
    agent.updateConfig({ maxContextFrames: 100 });
    agent.updateConfig({ maxContextFrames: 1 });
    expect(() => agent.updateConfig({ maxContextFrames: 101 })).toThrow(/maxContextFrames/);
    expect(argsOf(events, 'config_changed')).toEqual([
      { maxContextFrames: 3 },
      { maxContextFrames: 100 },
      { maxContextFrames: 1 },
    ]);
    expect(() => agent.requestFrameCapture('because' as never)).toThrow(/trigger reason/);
    agent.destroy();
    expect(() => agent.requestFrameCapture('timer')).toThrow(AgentDestroyedError);
    expect(() => agent.updateConfig({})).toThrow(AgentDestroyedError);
  });
});
