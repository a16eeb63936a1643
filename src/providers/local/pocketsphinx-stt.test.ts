import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatPcm } from '../../audio/pcm.ts';
import { resample } from '../../audio/resample.ts';
import { synthesizeAll } from '../../testing/signals.ts';
import type { SttEvent } from '../types.ts';
import { EspeakTts } from './espeak-tts.ts';
import { PocketsphinxStt } from './pocketsphinx-stt.ts';

const GRAMMAR = `#JSGF V1.0;
grammar assistant;
public <command> = <weather> | <booking>;
<weather> = what is the weather in <city>;
<city> = paris | london | tokyo | berlin;
<booking> = book a table for <count>;
<count> = one | two | three | four;
`;

const spoken = new Map<string, Int16Array>(); // 22 050 Hz
const silence = (ms: number, rate: number) => new Int16Array((rate * ms) / 1000);

const speak = (text: string) => synthesizeAll(new EspeakTts(), text);

async function* chunked(audio: Int16Array, size: number): AsyncIterable<Int16Array> {
  for (let i = 0; i < audio.length; i += size) yield audio.subarray(i, i + size);
}

async function collect(iter: AsyncIterable<SttEvent>): Promise<SttEvent[]> {
  const out: SttEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}

beforeAll(async () => {
  for (const text of [
    'what is the weather in paris',
    'book a table for two',
    'what is the weather in tokyo',
  ]) {
    spoken.set(text, await speak(text));
  }
});

describe('PocketsphinxStt', () => {
  it('transcribes real speech exactly with a JSGF grammar (16 kHz, streamed in 20 ms frames)', async () => {
    const stt = new PocketsphinxStt({ grammar: GRAMMAR });
    for (const text of spoken.keys()) {
      const audio16k = concatPcm([
        silence(300, 16000),
        resample(spoken.get(text)!, 22050, 16000),
        silence(300, 16000),
      ]);
      const events = await collect(stt.transcribe(chunked(audio16k, 320), { sampleRate: 16000 }));
      expect(events).toEqual([{ type: 'final', text, language: 'en' }]);
    }
  });

  it('resamples other input rates itself and reads a grammar file', async () => {
    const file = join(tmpdir(), `colloquy-test-${process.pid}.jsgf`);
    await writeFile(file, GRAMMAR);
    const stt = new PocketsphinxStt({ grammarFile: file });
    expect(stt.modelId).toBe('en-us-jsgf');
    const audio = concatPcm([silence(200, 22050), spoken.get('book a table for two')!, silence(200, 22050)]);
    const events = await collect(stt.transcribe(chunked(audio, 441), { sampleRate: 22050 }));
    expect(events).toEqual([{ type: 'final', text: 'book a table for two', language: 'en' }]);
  });

  it('yields an empty final for silence', async () => {
    const stt = new PocketsphinxStt({ grammar: GRAMMAR });
    const events = await collect(stt.transcribe(chunked(silence(500, 16000), 320), { sampleRate: 16000 }));
    expect(events).toEqual([{ type: 'final', text: '', language: 'en' }]);
  });

  it('aborts while waiting for audio, killing the decoder', async () => {
    const stt = new PocketsphinxStt({ grammar: GRAMMAR });
    const controller = new AbortController();
    async function* stalled(): AsyncIterable<Int16Array> {
      yield silence(20, 16000);
      await new Promise(() => {}); // the user never stops talking
    }
    const run = collect(stt.transcribe(stalled(), { sampleRate: 16000, abortSignal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails with typed errors for a missing program, bad grammar, bad rate and overlong audio', async () => {
    const audio = () => chunked(silence(100, 16000), 320);
    await expect(
      collect(
        new PocketsphinxStt({ binary: 'no-such-pocketsphinx' }).transcribe(audio(), { sampleRate: 16000 }),
      ),
    ).rejects.toMatchObject({ code: 'stt_unavailable' });
    expect(() => new PocketsphinxStt({ grammar: 'public <x> = y;' })).toThrow(/JSGF/);
    await expect(
      collect(
        new PocketsphinxStt({ grammarFile: '/nonexistent.jsgf' }).transcribe(audio(), { sampleRate: 16000 }),
      ),
    ).rejects.toMatchObject({ code: 'stt_bad_grammar' });
    await expect(
      collect(new PocketsphinxStt().transcribe(audio(), { sampleRate: 11025 })),
    ).rejects.toMatchObject({
      code: 'stt_bad_sample_rate',
    });
    await expect(
      collect(new PocketsphinxStt({ maxAudioSeconds: 0.05 }).transcribe(audio(), { sampleRate: 16000 })),
    ).rejects.toMatchObject({ code: 'stt_audio_too_long' });
  });

  it('reports a broken grammar as a ProviderError from the decoder', async () => {
    const stt = new PocketsphinxStt({ grammar: '#JSGF V1.0;\ngrammar broken;\npublic <a> = ( unclosed;\n' });
    await expect(
      collect(stt.transcribe(chunked(silence(100, 16000), 320), { sampleRate: 16000 })),
    ).rejects.toMatchObject({
      code: 'stt_failed',
    });
  });
});
