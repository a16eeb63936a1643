import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatPcm, rms } from '../../audio/pcm.ts';
import { ConfigError, InvalidInputError, ProviderError } from '../../errors.ts';
import { findExecutable } from './child-process.ts';
import { EspeakTts } from './espeak-tts.ts';

async function collect(iter: AsyncIterable<Int16Array>): Promise<{ chunks: number; audio: Int16Array }> {
  const parts: Int16Array[] = [];
  for await (const c of iter) parts.push(c);
  return { chunks: parts.length, audio: concatPcm(parts) };
}

describe('EspeakTts', () => {
  it('uses the espeak-ng program when it is on PATH', async () => {
    expect(await new EspeakTts().resolveBackend()).toBe('cli');
    expect(await new EspeakTts({ binary: 'no-such-espeak-binary' }).resolveBackend()).toBe('wasm');
  });

  it('synthesizes speech at 22 050 Hz through the CLI, longer text giving longer audio', async () => {
    const tts = new EspeakTts({ backend: 'cli' });
    expect(tts.sampleRate).toBe(22050);
    const short = await collect(tts.synthesize({ text: 'Hello.' }));
    const long = await collect(
      tts.synthesize({ text: 'Hello there, this is a considerably longer sentence.' }),
    );
    expect(short.audio.length).toBeGreaterThan(22050 * 0.3);
    expect(long.audio.length).toBeGreaterThan(short.audio.length * 2);
    expect(rms(long.audio)).toBeGreaterThan(0.02);
  });

  it('reads user text as text, never as options', async () => {
    const { audio } = await collect(new EspeakTts().synthesize({ text: '--help -v xx' }));
    expect(audio.length).toBeGreaterThan(22050 * 0.5);
  });

  it('kills the process on abort and rejects with the abort reason', async () => {
    const tts = new EspeakTts({ backend: 'cli' });
    const controller = new AbortController();
    const text = 'This is a long paragraph that would take many seconds to speak aloud. '.repeat(20);
    let chunks = 0;
    const run = (async () => {
      for await (const _ of tts.synthesize({ text, abortSignal: controller.signal })) {
        chunks++;
        controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(chunks).toBe(1);
  });

  it('honours a pre-aborted signal without starting', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      collect(new EspeakTts().synthesize({ text: 'hi', abortSignal: controller.signal })),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('validates text, voice and options with typed errors', async () => {
    const tts = new EspeakTts({ maxTextLength: 10 });
    await expect(collect(tts.synthesize({ text: '   ' }))).rejects.toMatchObject({ code: 'tts_bad_text' });
    await expect(collect(tts.synthesize({ text: 42 as unknown as string }))).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(collect(tts.synthesize({ text: 'x'.repeat(11) }))).rejects.toMatchObject({
      code: 'tts_text_too_long',
    });
    await expect(collect(tts.synthesize({ text: 'hi', voice: '-x; rm' }))).rejects.toMatchObject({
      code: 'tts_bad_voice',
    });
    expect(() => new EspeakTts({ rateWpm: 5 })).toThrow(ConfigError);
  });

  it('reports a failing voice as a ProviderError', async () => {
    await expect(
      collect(new EspeakTts({ backend: 'cli', voice: 'zz-nonexistent' }).synthesize({ text: 'hi' })),
    ).rejects.toMatchObject({
      code: 'tts_failed',
    });
  });

  it('falls back to the WASM build with the same output format', async () => {
    const tts = new EspeakTts({ backend: 'wasm', chunkSamples: 4410 });
    const first = await collect(tts.synthesize({ text: 'Book a table for two.' }));
    expect(first.chunks).toBeGreaterThan(2);
    expect(first.audio.length).toBeGreaterThan(22050 * 0.8);
    expect(rms(first.audio)).toBeGreaterThan(0.02);
    const second = await collect(tts.synthesize({ text: 'Book a table for two.' }));
    expect(Array.from(second.audio)).toEqual(Array.from(first.audio));
    expect(process.exitCode ?? 0).toBe(0);
  });
});

/**
 * The process pool of the CLI backend, with the real `espeak-ng` run through a wrapper that notes,
 * as each program starts, how many are running then (a file per running program).
 */
describe('EspeakTts: a bounded pool of espeak-ng programs', () => {
  let dir: string;
  let counting: string;
  /** How many programs ran, each with how many were running (itself included) when it started. */
  const started = async () =>
    (await readFile(join(dir, 'seen'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-espeak-pool-'));
    const real = await findExecutable('espeak-ng');
    counting = join(dir, 'espeak-counting');
    await writeFile(
      counting,
      [
        '#!/bin/sh',
        `touch "${dir}/run.$$"`,
        `ls "${dir}" | grep -c '^run\\.' >> "${dir}/seen"`,
        `"${real}" "$@"`,
        'status=$?',
        `rm -f "${dir}/run.$$"`,
        'exit $status',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const fresh = async () => rm(join(dir, 'seen'), { force: true });

  it('never runs more than maxProcesses at once; the others wait their turn and are all spoken', async () => {
    await fresh();
    const tts = new EspeakTts({ backend: 'cli', binary: counting, maxProcesses: 2, maxWaiting: 10 });
    const texts = Array.from({ length: 6 }, (_, i) => `This is sentence number ${i + 1}, spoken in turn.`);
    const spoken = await Promise.all(texts.map((text) => collect(tts.synthesize({ text }))));
    for (const { audio } of spoken) expect(audio.length).toBeGreaterThan(22050 * 0.5);
    const seen = await started();
    expect(seen).toHaveLength(6);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
    expect([tts.slots.running, tts.slots.waiting]).toEqual([0, 0]);
  });

  it('a full queue fails the utterance at once with tts_busy (retryable); the others are spoken', async () => {
    await fresh();
    const tts = new EspeakTts({ backend: 'cli', binary: counting, maxProcesses: 1, maxWaiting: 1 });
    const outcomes = await Promise.allSettled(
      ['One is spoken.', 'Two waits.', 'Three finds no room.'].map((text) =>
        collect(tts.synthesize({ text })),
      ),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused).toHaveLength(1);
    const error = (refused[0] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'tts_busy', retryable: true });
    expect(error.message).toMatch(/1 utterances are being synthesized and 1 wait/);
    expect(await started()).toHaveLength(2); // the refused one never started a program
  });

  it('an utterance waiting for a slot is cancelled by its signal and never starts a program', async () => {
    await fresh();
    const tts = new EspeakTts({ backend: 'cli', binary: counting, maxProcesses: 1 });
    const first = collect(tts.synthesize({ text: 'The first utterance holds the only slot for a while.' }));
    const controller = new AbortController();
    const second = collect(tts.synthesize({ text: 'This one waits.', abortSignal: controller.signal }));
    while (tts.slots.waiting === 0) await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    expect(tts.slots.waiting).toBe(0);
    expect((await first).audio.length).toBeGreaterThan(22050);
    expect(await started()).toHaveLength(1);
  });

  it('a slot is free again once its program has exited, not as soon as its kill is asked', async () => {
    // A program that outlives its kill: the wrapper is killed (SIGKILL, the pool's only signal) and
    // the real espeak-ng it started goes on, holding the output pipe, until it has said everything.
    // Each run notes how many real espeak-ng programs of this test (its own rate) run as it starts.
    const real = await findExecutable('espeak-ng');
    const lingering = join(dir, 'espeak-lingering');
    const marker = '--stdout -v en-us -s 173';
    await writeFile(
      lingering,
      ['#!/bin/sh', `pgrep -c -f -- "^${real} ${marker}\\$" >> "${dir}/running"`, `"${real}" "$@"`, ''].join(
        '\n',
      ),
      { mode: 0o755 },
    );
    const tts = new EspeakTts({ backend: 'cli', binary: lingering, rateWpm: 173, maxProcesses: 1 });
    const text = 'Each utterance is read only up to its first chunk of audio, then dropped. '.repeat(6);
    const firstChunkOnly = async () => {
      let chunks = 0;
      for await (const _ of tts.synthesize({ text })) if (++chunks === 1) break;
      return chunks;
    };
    expect(await Promise.all([firstChunkOnly(), firstChunkOnly(), firstChunkOnly()])).toEqual([1, 1, 1]);
    const running = (await readFile(join(dir, 'running'), 'utf8')).split('\n').filter(Boolean).map(Number);
    // Three runs; none started while the program of another (maxProcesses 1) was still running.
    expect(running).toEqual([0, 0, 0]);
    expect([tts.slots.running, tts.slots.waiting]).toEqual([0, 0]);
  });

  it('refuses pool bounds that are not integers in range', () => {
    expect(() => new EspeakTts({ maxProcesses: 0 })).toThrow(ConfigError);
    expect(() => new EspeakTts({ maxWaiting: -1 })).toThrow(ConfigError);
    expect(new EspeakTts({ maxProcesses: 3, maxWaiting: 0 }).slots).toMatchObject({
      maxRunning: 3,
      maxWaiting: 0,
    });
  });
});
