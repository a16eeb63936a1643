import { afterEach, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.ts';
import { silentLogger } from '../../src/logger.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { mockTranscriptionModel, openClient, startServer } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const RATE = 16000;
/** `ms` of 20 ms PCM16 frames: a 440 Hz tone or silence. */
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

async function setup(script: string[]) {
  const stt = mockTranscriptionModel(script);
  const agent = new VoiceAgent({
    model: mockLanguageModel(['Heard you.']),
    transcriptionModel: stt.model,
    logger: silentLogger,
  });
  const server = await startServer((socket) => agent.handleSocket(socket));
  const log = await openClient(server.url);
  cleanups.push(
    () => log.socket.terminate(),
    () => agent.destroy(),
    () => server.close(),
  );
  return { agent, stt, log };
}

describe('binary PCM16 audio (Colloquy addition)', () => {
  it('server-side VAD: speech start/stop, transcription, then a turn', async () => {
    const { agent, stt, log } = await setup(['what time is it']);
    log.send({ type: 'audio_config', sampleRate: RATE });
    expect(await log.waitFor('audio_config_ack')).toEqual({
      type: 'audio_config_ack',
      sampleRate: RATE,
      channels: 1,
      encoding: 'pcm16le',
      vad: true,
    });
    for (const f of [...frames(200, false), ...frames(800, true), ...frames(1500, false)]) log.socket.send(f);
    await log.waitFor('response_complete', () => true, 8000);
    const types = log.types();
    const order = [
      'user_speech_start',
      'user_speech_stop',
      'transcription_result',
      'stream_start',
      'response_complete',
    ];
    expect(types.filter((t) => order.includes(t))).toEqual(order);
    expect(log.of('transcription_result')[0]).toMatchObject({ text: 'what time is it' });
    // The STT model got the utterance as a WAV file at 16 kHz.
    const wav = decodeWav(stt.calls[0]!.audio as Uint8Array);
    expect(wav.sampleRate).toBe(RATE);
    expect(wav.samples.length).toBeGreaterThan(RATE * 0.5);
    expect(agent.getHistory()[0]).toEqual({ role: 'user', content: 'what time is it' });
  });

  it('server-side VAD: audio_commit ends the turn in progress at once (no trailing silence needed)', async () => {
    const { agent, log } = await setup(['commit now']);
    log.send({ type: 'audio_config', sampleRate: RATE });
    await log.waitFor('audio_config_ack');
    for (const f of [...frames(200, false), ...frames(800, true)]) log.socket.send(f);
    await log.waitFor('user_speech_start');
    // Still speaking: without the commit the VAD would wait for silence that never comes.
    log.send({ type: 'audio_commit' });
    await log.waitFor('response_complete');
    expect(log.of('transcription_result')[0]).toMatchObject({ text: 'commit now' });
    expect(log.types(['user_speech_stop', 'transcription_result'])).toEqual([
      'user_speech_stop',
      'transcription_result',
    ]);
    expect(agent.getHistory()[0]).toEqual({ role: 'user', content: 'commit now' });
  });

  it('push-to-talk (vad: false): audio_commit sends the buffered turn as one recording', async () => {
    const { stt, log } = await setup(['pushed to talk']);
    log.send({ type: 'audio_config', sampleRate: 24000, channels: 2, vad: false });
    await log.waitFor('audio_config_ack');
    const stereo = new Int16Array(480 * 2).fill(1000);
    for (let i = 0; i < 10; i++) log.socket.send(new Uint8Array(stereo.buffer));
    log.send({ type: 'audio_commit' });
    await log.waitFor('response_complete');
    expect(log.of('transcription_result')[0]).toMatchObject({ text: 'pushed to talk' });
    const wav = decodeWav(stt.calls[0]!.audio as Uint8Array);
    expect([wav.sampleRate, wav.channels, wav.samples.length]).toEqual([24000, 1, 4800]);
    expect(wav.samples[0]).toBe(1000);
    // An empty commit does nothing (the session_init answering client_ready comes after whatever
    // the commit would have sent).
    log.send({ type: 'audio_commit' });
    log.send({ type: 'client_ready' });
    await log.waitFor('session_init');
    expect(log.of('error')).toEqual([]);
    expect(stt.calls).toHaveLength(1);
  });

  it('push-to-talk: a commit with nothing buffered neither fails nor cuts the answer under way', async () => {
    const { agent, stt, log } = await setup(['never asked']);
    log.send({ type: 'audio_config', sampleRate: RATE, vad: false });
    await log.waitFor('audio_config_ack');
    log.send({ type: 'transcript', text: 'Hello' });
    await log.waitFor('stream_start');
    log.send({ type: 'audio_commit' });
    log.send({ type: 'client_ready' });
    await log.waitFor('session_init');
    await log.waitFor('response_complete');
    expect(log.of('error')).toEqual([]);
    expect(log.types()).not.toContain('stream_abort');
    const completes = log.of('response_complete');
    expect(completes).toHaveLength(1);
    expect(completes[0]).toMatchObject({ text: 'Heard you.' });
    expect(completes[0]!.interrupted).toBeUndefined();
    expect(stt.calls).toEqual([]);
    // One turn, the typed one, answered whole.
    expect(agent.getHistory().map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(agent.getHistory()[0]).toEqual({ role: 'user', content: 'Hello' });
  });
});
