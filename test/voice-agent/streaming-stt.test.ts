/**
 * The native WebSocket protocol with a streaming STT: a real `ws` client streams binary PCM to a
 * VoiceAgent whose `sttModel` is Deepgram (served by the local fake Deepgram on loopback); the
 * client gets `transcription_interim` messages while the user speaks, then `transcription_result`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { DeepgramStt } from '../../src/providers/streaming/deepgram-stt.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { FakeDeepgramServer } from '../../src/testing/fake-deepgram-server.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { openClient, startServer } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const RATE = 16000;
function frames(ms: number, tone: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let t = 0; t < ms; t += 20) {
    const f = new Int16Array(RATE / 50);
    if (tone)
      for (let i = 0; i < f.length; i++) f[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
    out.push(new Uint8Array(f.buffer));
  }
  return out;
}

describe('VoiceAgent with a streaming sttModel (native protocol)', () => {
  it('transcription_interim while the user speaks, then transcription_result and the turn', async () => {
    const deepgram = await FakeDeepgramServer.start({ transcript: 'what time is it', msPerWord: 150 });
    const agent = new VoiceAgent({
      model: mockLanguageModel(['It is noon.']),
      sttModel: new DeepgramStt({ apiKey: deepgram.apiKey, url: deepgram.url }),
      logger: silentLogger,
    });
    const server = await startServer((socket) => agent.handleSocket(socket));
    const log = await openClient(server.url);
    cleanups.push(
      () => deepgram.close(),
      () => server.close(),
      () => agent.destroy(),
      () => log.socket.terminate(),
    );
    log.send({ type: 'audio_config', sampleRate: RATE });
    expect(await log.waitFor('audio_config_ack')).toMatchObject({ vad: true });
    for (const f of [...frames(200, false), ...frames(1000, true), ...frames(1500, false)])
      log.socket.send(f);
    await log.waitFor('response_complete', () => true, 15_000);

    const order = log.types(['transcription_interim', 'transcription_result', 'stream_start']);
    const firstResult = order.indexOf('transcription_result');
    expect(order.indexOf('transcription_interim')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('transcription_interim')).toBeLessThan(firstResult);
    expect(order.filter((t) => t === 'transcription_result')).toHaveLength(1);
    for (const m of log.of('transcription_interim')) {
      expect(Object.keys(m).sort()).toEqual(['text', 'type']);
      expect('what time is it'.startsWith(m.text as string)).toBe(true);
    }
    expect(log.of('transcription_result')[0]).toMatchObject({ text: 'what time is it' });
    expect(agent.getHistory()[0]).toEqual({ role: 'user', content: 'what time is it' });
    expect(deepgram.connections[0]!.controls.at(-1)).toBe('CloseStream');
  });
});
