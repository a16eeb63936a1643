/**
 * `VideoAgent` as a unit: its refusals (exact code and message), its session id, its config, frames
 * added with `sendFrame` (defaults, sequence, events), and what it sends on a socket (an in-memory
 * socket, `FakeWebSocket`). Every agent is made inside its test and destroyed after it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeWebSocket } from '../../../test/support/fake-ws.ts';
import { silentLogger } from '../../logger.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { DEFAULT_VIDEO_INSTRUCTIONS, type VideoAgentOptions } from './options.ts';
import { newVideoSessionId, VideoAgent } from './video-agent.ts';

const agents: VideoAgent[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.destroy();
});

function make(options: Partial<VideoAgentOptions> = {}): VideoAgent {
  const agent = new VideoAgent({ model: mockLanguageModel(['I see it.']), logger: silentLogger, ...options });
  agents.push(agent);
  return agent;
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const WEBP = Buffer.from([0x52, 0x49, 0x46, 0x46, 4, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 1, 2]);

describe('construction', () => {
  it('a realtime model is refused with invalid_options', () => {
    expect(() => new VideoAgent({ model: mockLanguageModel(['x']), realtime: {} as never })).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        code: 'invalid_options',
        message: 'VideoAgent does not run on a realtime model (its frames need a vision LLM); use VoiceAgent',
      }),
    );
  });

  it.each([[0], [101], [2.5], ['3']])('maxContextFrames %j is refused with invalid_config', (n) => {
    expect(() => make({ maxContextFrames: n as number })).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: `maxContextFrames must be an integer from 1 to 100, got ${String(n)}`,
      }),
    );
  });

  it('keeps 10 frames by default; the config is a copy', () => {
    const agent = make();
    const config = agent.getConfig();
    expect(config).toEqual({ maxContextFrames: 10 });
    config.maxContextFrames = 50;
    expect(agent.getConfig()).toEqual({ maxContextFrames: 10 });
  });

  it('the session id: the option when given, else vs_<time>_<8 random chars>, a new one each time', () => {
    expect(make({ sessionId: 'mine' }).getSessionId()).toBe('mine');
    const ids = [newVideoSessionId(), newVideoSessionId(), make().getSessionId()];
    for (const id of ids) expect(id).toMatch(/^vs_[0-9a-z]+_[0-9a-z]{8}$/);
    expect(new Set(ids.map((id) => id.split('_')[2])).size).toBe(3);
    const before = Date.now();
    const time = Number.parseInt(newVideoSessionId().split('_')[1]!, 36);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('the system prompt is the video default unless instructions are given', async () => {
    const model = mockLanguageModel(['Ok.']);
    const agent = make({ model });
    await agent.sendText('hi');
    expect(model.calls[0]!.prompt[0]).toEqual({ role: 'system', content: DEFAULT_VIDEO_INSTRUCTIONS });
    const own = mockLanguageModel(['Ok.']);
    await make({ model: own, instructions: 'Look.' }).sendText('hi');
    expect(own.calls[0]!.prompt[0]).toEqual({ role: 'system', content: 'Look.' });
  });
});

describe('after destroy(), each VideoAgent method names itself', () => {
  it.each([
    ['sendFrame', (a: VideoAgent) => a.sendFrame(PNG, undefined, { format: 'png' })],
    ['requestFrameCapture', (a: VideoAgent) => a.requestFrameCapture('timer')],
    ['updateConfig', (a: VideoAgent) => a.updateConfig({})],
    ['clearHistory', (a: VideoAgent) => a.clearHistory()],
  ])('%s', async (name, call) => {
    const agent = make();
    agent.destroy();
    let thrown: unknown;
    try {
      await call(agent);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: 'agent_destroyed',
      message: `${name}() was called after destroy(); create a new agent`,
    });
  });
});

describe('sendFrame', () => {
  it('defaults: webp, 640×480, user_request, sequence counted from 1; no query answers ""', async () => {
    const agent = make();
    const received: unknown[] = [];
    agent.on('frame_received', (f) => received.push(f));
    const before = Date.now();
    await expect(agent.sendFrame(WEBP)).resolves.toBe('');
    await expect(
      agent.sendFrame(PNG.toString('base64'), undefined, {
        format: 'png',
        width: 10,
        height: 20,
        triggerReason: 'timer',
      }),
    ).resolves.toBe('');
    expect(received).toEqual([
      {
        sequence: 1,
        timestamp: expect.any(Number),
        triggerReason: 'user_request',
        size: 14,
        dimensions: { width: 640, height: 480 },
      },
      {
        sequence: 2,
        timestamp: expect.any(Number),
        triggerReason: 'timer',
        size: 11,
        dimensions: { width: 10, height: 20 },
      },
    ]);
    expect((received[0] as { timestamp: number }).timestamp).toBeGreaterThanOrEqual(before);
    expect([agent.currentFrameSequence, agent.hasVisualContext, agent.getFrameContext()]).toEqual([
      2,
      true,
      { frameCount: 2, lastFrameSequence: 2 },
    ]);
  });

  it('with a query, asks about the frame and answers; the turn has the image', async () => {
    const agent = make();
    const texts: unknown[] = [];
    agent.on('text', (t) => texts.push(t));
    await expect(agent.sendFrame(PNG, 'What is it?', { format: 'png' })).resolves.toBe('I see it.');
    expect(texts[0]).toEqual({ role: 'user', text: 'What is it?', hasImage: true });
  });

  it('a frame whose bytes are not its format is thrown, and not kept', async () => {
    const agent = make();
    await expect(agent.sendFrame(PNG, undefined, { format: 'jpeg' })).rejects.toMatchObject({
      code: 'invalid_image',
    });
    expect([agent.hasVisualContext, agent.getFrameContext(), agent.currentFrameSequence]).toEqual([
      false,
      undefined,
      undefined,
    ]);
  });
});

describe('requestFrameCapture and updateConfig', () => {
  it('an unknown trigger reason is refused naming it', () => {
    const agent = make();
    expect(() => agent.requestFrameCapture('because' as never)).toThrow(
      expect.objectContaining({
        code: 'invalid_trigger_reason',
        message: 'Unknown frame trigger reason "because"',
      }),
    );
  });

  it.each([['scene_change'], ['user_request'], ['timer'], ['initial']] as const)(
    'requestFrameCapture(%s) publishes video.frame.requested with it',
    (reason) => {
      const agent = make({ sessionId: 'v1' });
      const seen: unknown[] = [];
      agent.bus.subscribe('video.frame.requested', (p) => seen.push(p));
      agent.requestFrameCapture(reason);
      expect(seen).toEqual([{ sessionId: 'v1', reason }]);
    },
  );

  it('updateConfig publishes the whole new config and keeps only the newest frames', async () => {
    const agent = make({ sessionId: 'v2', maxContextFrames: 5 });
    const seen: unknown[] = [];
    agent.bus.subscribe('config.changed', (p) => seen.push(p));
    for (let i = 0; i < 4; i++) await agent.sendFrame(PNG, undefined, { format: 'png' });
    agent.updateConfig({ maxContextFrames: 2 });
    expect(seen).toEqual([{ sessionId: 'v2', config: { maxContextFrames: 2 } }]);
    expect(agent.getFrameContext()).toEqual({ frameCount: 2, lastFrameSequence: 4 });
    expect(() => agent.updateConfig({ maxContextFrames: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
    expect(agent.getConfig()).toEqual({ maxContextFrames: 2 });
    expect(seen).toHaveLength(1);
  });

  it('clearHistory also drops the frames', async () => {
    const agent = make();
    await agent.sendFrame(PNG, undefined, { format: 'png' });
    agent.clearHistory();
    expect([agent.hasVisualContext, agent.getHistory()]).toEqual([false, []]);
  });
});

describe('on a socket', () => {
  it('announces the session as soon as the socket attaches, with video on', () => {
    const agent = make({ sessionId: 'v3' });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    expect(socket.sent[0]).toMatchObject({
      type: 'session_init',
      sessionId: 'v3',
      capabilities: { video: true },
    });
    expect(agent.sessionInit()).toEqual({ sessionId: 'v3', video: true });
  });

  it('a client transcript asks the client for a fresh frame (user_request)', () => {
    const agent = make({ sessionId: 'v4' });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const seen: unknown[] = [];
    agent.bus.subscribe('video.frame.requested', (p) => seen.push(p));
    socket.receive({ type: 'transcript', text: 'Look at this' });
    expect(seen).toEqual([{ sessionId: 'v4', reason: 'user_request' }]);
    expect(socket.of('capture_frame')).toEqual([expect.objectContaining({ reason: 'user_request' })]);
  });

  it('a bad client frame is refused on the socket and not kept', () => {
    const agent = make();
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    socket.receive({
      type: 'video_frame',
      sessionId: 'x',
      sequence: 1,
      timestamp: 1,
      triggerReason: 'timer',
      image: { data: PNG.toString('base64'), format: 'jpeg', width: 1, height: 1 },
    });
    expect(socket.of('error')).toEqual([
      expect.objectContaining({ code: 'invalid_image', messageType: 'video_frame' }),
    ]);
    expect(agent.hasVisualContext).toBe(false);
  });

  it('response extras: the session id, and the frame context once there are frames', async () => {
    const agent = make({ sessionId: 'v5' });
    expect(agent.responseExtras()).toEqual({ sessionId: 'v5' });
    await agent.sendFrame(PNG, undefined, { format: 'png' });
    expect(agent.responseExtras()).toEqual({
      sessionId: 'v5',
      frameContext: { frameCount: 1, lastFrameSequence: 1 },
    });
  });
});
