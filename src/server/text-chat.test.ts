/**
 * A text chat (`requestData.text_only`), over a real WebSocket on loopback with the demo's
 * scripted model:
 *
 * | client                                   | what happens                                                     |
 * |------------------------------------------|------------------------------------------------------------------|
 * | connects with `{text_only: true}`        | the greeting comes as `bot-output {spoken: false}`, no audio     |
 * | types a question                         | streamed `bot-llm-text`, then the whole answer as `bot-output`; no audio frame, no TTS |
 * | sends microphone audio anyway            | one RTVI `error` (`no_audio_input`); the chat goes on            |
 * | asks for it over SmallWebRTC, or with a realtime model, or not as a boolean | `400 {info}`, no session   |
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, type RawClient, type RtviMsg, startTestServer, until } from '../../test/e2e/helpers.ts';
import { messageText } from '../session/history.ts';
import { encodeAudioFrame } from '../transports/pipecat-websocket/frames.ts';
import type { RunningServer } from './server.ts';

const GREETING = 'Hello! I am the Colloquy demo concierge.';
const ANSWER = 'Breakfast is served from seven to ten in the garden room.';

describe('a text chat: requestData.text_only', () => {
  let server: RunningServer;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      env: { COLLOQUY_VAD: 'energy' },
      edit: (config) => ({
        ...config,
        file: {
          ...config.file,
          configurations: { live: { models: { llm: 'openai-realtime:gpt-realtime' } } },
        },
      }),
    });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await server?.close();
  });

  const chat = async () => {
    const c = await connectRaw(server.url, { text_only: true });
    clients.push(c);
    await c.ready();
    return c;
  };
  const outputs = (c: RawClient) =>
    c.messages.filter((m) => m.type === 'bot-output').map((m) => m.data as Record<string, unknown>);
  const ask = async (c: RawClient, text: string) => {
    const before = outputs(c).length;
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    return until(`the answer to "${text}"`, () => outputs(c).at(before));
  };
  const connect = (requestData: unknown) =>
    fetch(`${server.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(requestData),
    });

  it('the greeting and the answers arrive as text, with no speech at all', async () => {
    const c = await chat();
    const greeting = await until('the greeting', () => outputs(c).at(0));
    expect(greeting).toEqual({ text: GREETING, spoken: false, aggregated_by: 'turn', will_be_spoken: false });

    const answer = await ask(c, 'what time is breakfast');
    expect(answer).toEqual({ text: ANSWER, spoken: false, aggregated_by: 'turn', will_be_spoken: false });
    // The answer also streamed as the model wrote it, with its tool call.
    const streamed = c.messages
      .filter((m) => m.type === 'bot-llm-text')
      .map((m) => m.data.text as string)
      .join('');
    expect(streamed).toBe(ANSWER);
    expect(c.messages.map((m) => m.type)).toContain('llm-function-call-in-progress');
    // Nothing was synthesized or played.
    expect(c.audioFrames).toBe(0);
    const speechTypes = ['bot-tts-started', 'bot-tts-text', 'bot-started-speaking'];
    expect(c.messages.filter((m: RtviMsg) => speechTypes.includes(m.type))).toEqual([]);
    const live = server.context.registry.get(
      (await c.waitFor('bot-ready', (m) => m.type === 'bot-ready')).data.about.session_id,
    );
    const transcript = (live?.transcript ?? [])
      .filter((m) => m.role !== 'tool')
      .map((m) => [m.role, messageText(m)]);
    expect(transcript).toEqual([
      ['assistant', GREETING],
      ['user', 'what time is breakfast'],
      ['assistant', '{"query":"breakfast"}'], // the tool call
      ['assistant', ANSWER],
    ]);
  });

  it('audio from the client is refused once, with its code; the chat goes on', async () => {
    const c = await chat();
    const frame = new Int16Array(320).fill(1000); // 20 ms of PCM16 at 16 kHz
    const bytes = new Uint8Array(frame.buffer);
    for (let i = 0; i < 3; i++) c.sendBytes(encodeAudioFrame(bytes, 16_000));
    const refused = await c.waitFor('the refusal', (m) => m.type === 'error');
    expect(refused.data).toMatchObject({ fatal: false, message: expect.stringMatching(/no_audio_input/) });
    expect(await ask(c, 'what time is breakfast')).toMatchObject({ text: ANSWER, spoken: false });
    expect(c.messages.filter((m) => m.type === 'error')).toHaveLength(1);
    expect(c.audioFrames).toBe(0);
  });

  it('refused at the edge: SmallWebRTC, a realtime speech model, a value that is not a boolean', async () => {
    const before = server.context.registry.activeCount;
    for (const [requestData, info] of [
      [{ text_only: true, transport: 'webrtc' }, /text_only is for the WebSocket transport/],
      [{ text_only: true, config: 'live' }, /realtime speech-to-speech model/],
      [{ text_only: 'yes' }, /^Invalid requestData: text_only/],
      [{ text_only: 1 }, /^Invalid requestData: text_only/],
    ] as const) {
      const res = await connect(requestData);
      expect([requestData, res.status]).toEqual([requestData, 400]);
      expect(((await res.json()) as { info: string }).info).toMatch(info);
    }
    expect(server.context.registry.activeCount).toBe(before);
    // Without `text_only`, the same server gives a session with speech.
    const spoken = await connectRaw(server.url, {});
    clients.push(spoken);
    await spoken.ready();
    await until('the greeting spoken', () => (spoken.audioFrames > 0 ? true : undefined));
  });
});
