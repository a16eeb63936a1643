import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ColloquyError, ProviderError } from '../../errors.ts';
import type { SttEvent, SttModel, SttStreamOptions } from '../../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import { systemClock } from '../clock.ts';
import { SttUtterance } from './stt-utterance.ts';

/** A streaming STT driven by the test: `say` yields an event, `fail` throws, `close` ends the stream. */
class HandStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'test';
  readonly modelId = 'hand-stt';
  readonly sampleRate = 16000;
  options: SttStreamOptions | undefined;
  readonly received: number[] = [];
  audioEnded = false;
  private pending: Array<SttEvent | Error | 'close'> = [];
  private wake: (() => void) | undefined;

  say(event: SttEvent | Error | 'close'): void {
    this.pending.push(event);
    this.wake?.();
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    this.options = options;
    void (async () => {
      for await (const pcm of audio) this.received.push(pcm[0]!);
      this.audioEnded = true;
    })();
    for (;;) {
      const next = this.pending.shift();
      if (next === undefined) {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        continue;
      }
      if (next === 'close') return;
      if (next instanceof Error) throw next;
      yield next;
    }
  }
}

function setup(finalTimeoutMs = 1000) {
  const stt = new HandStt();
  const log: string[] = [];
  const errors: ColloquyError[] = [];
  let settled!: () => void;
  const settledOnce = new Promise<void>((r) => {
    settled = r;
  });
  const u = new SttUtterance({
    stt,
    language: 'fr',
    clock: systemClock,
    finalTimeoutMs,
    firstSample: 480,
    onInterim: (text) => log.push(`interim:${text}`),
    onFinal: (text, language) => log.push(`final:${text}:${language}`),
    onError: (error) => errors.push(error),
    onSettled: () => {
      log.push('settled');
      settled();
    },
  });
  u.start();
  return { stt, u, log, errors, settledOnce };
}

const pcm = (v: number) => Int16Array.of(v);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SttUtterance', () => {
  it('streams audio to the model with its rate, language and abort signal, and reports transcripts', async () => {
    const { stt, u, log, errors, settledOnce } = setup();
    expect(u.sentUpTo).toBe(480);
    u.pushAudio(pcm(1), 800);
    u.pushAudio(pcm(2), 1120);
    expect(u.sentUpTo).toBe(1120);
    stt.say({ type: 'interim', text: 'bon' });
    await vi.advanceTimersByTimeAsync(0);
    expect(u.interimText).toBe('bon');
    expect(stt.options).toMatchObject({ sampleRate: 16000, language: 'fr' });
    expect(stt.options?.abortSignal?.aborted).toBe(false);
    expect(stt.received).toEqual([1, 2]);
    u.endAudio();
    u.pushAudio(pcm(3), 1440);
    expect(u.sentUpTo).toBe(1120);
    await vi.advanceTimersByTimeAsync(0);
    expect(stt.audioEnded).toBe(true);
    vi.setSystemTime(5000);
    stt.say({ type: 'final', text: 'bonjour', language: 'fr' });
    stt.say('close');
    await settledOnce;
    expect(log).toEqual(['interim:bon', 'final:bonjour:fr', 'settled']);
    expect([u.finalText, u.finalAt, u.settled]).toEqual(['bonjour', 5000, true]);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(errors).toEqual([]);
  });

  it('an empty final is kept but not reported as a transcript', async () => {
    const { stt, u, log, settledOnce } = setup();
    u.endAudio();
    stt.say({ type: 'final', text: '  ' });
    stt.say('close');
    await settledOnce;
    expect(log).toEqual(['settled']);
    expect(u.finalText).toBe('  ');
  });

  it('no final within finalTimeoutMs after the audio ends: a timeout error, the request aborted, settled once', async () => {
    const { stt, u, log, errors } = setup(700);
    u.endAudio();
    await vi.advanceTimersByTimeAsync(699);
    expect(u.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors.map((e) => e.code)).toEqual(['timeout']);
    expect(errors[0]!.message).toContain('700 ms');
    expect(stt.options?.abortSignal?.reason).toBe(errors[0]);
    expect(log).toEqual(['settled']);
    stt.say({ type: 'final', text: 'too late' });
    stt.say(new Error('and failing'));
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(['settled']);
    expect(errors).toHaveLength(1);
  });

  it('no timeout runs while the user still speaks', async () => {
    const { u } = setup(700);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(u.settled).toBe(false);
  });

  it('a provider error is reported as it is; any other failure as a retryable stt_failed', async () => {
    const own = new ProviderError('rate_limited', 'slow down', { retryable: true });
    const a = setup();
    a.stt.say(own);
    await a.settledOnce;
    expect(a.errors).toEqual([own]);

    const b = setup();
    b.stt.say(new Error('socket closed'));
    await b.settledOnce;
    expect(b.errors).toHaveLength(1);
    expect(b.errors[0]).toBeInstanceOf(ProviderError);
    expect(b.errors[0]).toMatchObject({
      code: 'stt_failed',
      message: 'Transcription failed',
      retryable: true,
    });
    expect((b.errors[0]!.cause as Error).message).toContain('socket closed');
    expect(b.log).toEqual(['settled']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(b.errors).toHaveLength(1);
  });

  it('a failure ends the audio and clears the final timeout', async () => {
    const { stt, u, errors, settledOnce } = setup(700);
    u.endAudio();
    stt.say(new Error('down'));
    await settledOnce;
    await vi.advanceTimersByTimeAsync(5000);
    expect(errors.map((e) => e.code)).toEqual(['stt_failed']);
    expect(vi.getTimerCount()).toBe(0);
    const streaming = setup();
    streaming.stt.say(new Error('down'));
    await streaming.settledOnce;
    await vi.advanceTimersByTimeAsync(0);
    expect(streaming.stt.audioEnded).toBe(true);
  });

  it('abort stops the request without reporting anything, and later transcripts are ignored', async () => {
    const { stt, u, log, errors } = setup(700);
    u.endAudio();
    u.abort();
    expect(u.settled).toBe(true);
    expect(stt.options?.abortSignal?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    stt.say({ type: 'interim', text: 'late' });
    stt.say({ type: 'final', text: 'late' });
    stt.say('close');
    await vi.advanceTimersByTimeAsync(5000);
    expect(log).toEqual([]);
    expect(errors).toEqual([]);
    expect(u.finalText).toBeUndefined();
    u.abort();
    u.endAudio();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('abort, then the model ends its stream anyway: still nothing reported', async () => {
    const { stt, u, log, errors } = setup(700);
    u.endAudio();
    u.abort();
    stt.say('close'); // a model that ignores its abort signal and ends its stream normally
    await vi.advanceTimersByTimeAsync(5000);
    expect(log).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a final timeout, then the model ends its stream: settled once, one error', async () => {
    const { stt, log, errors, u } = setup(700);
    u.endAudio();
    await vi.advanceTimersByTimeAsync(700);
    stt.say('close');
    await vi.advanceTimersByTimeAsync(5000);
    expect(log).toEqual(['settled']);
    expect(errors.map((e) => e.code)).toEqual(['timeout']);
  });

  it('abort after the transcript settled leaves the finished request alone: its signal is not aborted', async () => {
    const { stt, u, log, settledOnce } = setup();
    u.endAudio();
    stt.say({ type: 'final', text: 'done' });
    stt.say('close');
    await settledOnce;
    u.abort(); // the session closing later
    expect(stt.options?.abortSignal?.aborted).toBe(false);
    expect(log).toEqual(['final:done:undefined', 'settled']);
  });

  it('an event of a type the model contract does not have fails the utterance as a retryable stt_failed', async () => {
    const { stt, u, log, errors, settledOnce } = setup();
    stt.say({ type: 'partial', text: 'what' } as unknown as SttEvent);
    stt.say({ type: 'final', text: 'never read' });
    stt.say('close');
    await settledOnce;
    expect(log).toEqual(['settled']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'stt_failed', retryable: true });
    expect((errors[0]!.cause as ColloquyError).message).toContain('partial');
    expect(u.finalText).toBeUndefined();
  });

  it('abort while streaming ends the audio', async () => {
    const { stt, u } = setup();
    u.pushAudio(pcm(1), 800);
    u.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(stt.audioEnded).toBe(true);
    expect(stt.received).toEqual([1]);
  });
});

describe('SttUtterance: exact texts and timers', () => {
  it('starts with no interim text, no final and nothing settled', () => {
    const { u } = setup();
    expect([u.interimText, u.finalText, u.finalAt, u.settled, u.sentUpTo]).toEqual([
      '',
      undefined,
      undefined,
      false,
      480,
    ]);
    u.abort();
  });

  it('the final timeout is a retryable timeout error with the exact message', async () => {
    const { u, errors } = setup(700);
    u.endAudio();
    await vi.advanceTimersByTimeAsync(700);
    expect(errors).toHaveLength(1);
    expect([errors[0]!.code, errors[0]!.message, errors[0]!.retryable]).toEqual([
      'timeout',
      'Final transcript timed out after 700 ms',
      true,
    ]);
  });

  it('an event of an unknown type fails with a cause naming it exactly', async () => {
    const { stt, errors, settledOnce } = setup();
    stt.say({ type: 'partial', text: 'what' } as unknown as SttEvent);
    await settledOnce;
    const cause = errors[0]!.cause as ColloquyError;
    expect([cause.code, cause.message]).toEqual([
      'unreachable',
      'Unexpected STT event: {"type":"partial","text":"what"}',
    ]);
  });

  it('with an injected clock: the final timeout is set once, cleared once when the final comes, never cleared after it fired or when none was set', async () => {
    const calls: string[] = [];
    let next = 0;
    const pending = new Map<number, () => void>();
    const clock = {
      now: () => 1234,
      setTimeout: (fn: () => void, ms: number) => {
        const handle = ++next;
        pending.set(handle, fn);
        calls.push(`set ${handle} ${ms}`);
        return handle;
      },
      clearTimeout: (handle: unknown) => {
        calls.push(`clear ${String(handle)}`);
        pending.delete(handle as number);
      },
    };
    const make = () => {
      const stt = new HandStt();
      const errors: ColloquyError[] = [];
      let settled!: () => void;
      const done = new Promise<void>((r) => {
        settled = r;
      });
      const u = new SttUtterance({
        stt,
        clock,
        finalTimeoutMs: 300,
        firstSample: 0,
        onInterim: () => {},
        onFinal: () => {},
        onError: (e) => errors.push(e),
        onSettled: () => settled(),
      });
      u.start();
      return { stt, u, errors, done };
    };
    // streaming, then aborted: no timer was set, none is cleared
    const a = make();
    a.u.abort();
    expect(calls).toEqual([]);
    // the final arrives in time: its timer is cleared once
    const b = make();
    b.u.endAudio();
    b.stt.say({ type: 'final', text: 'hi' });
    b.stt.say('close');
    await b.done;
    expect(b.u.finalAt).toBe(1234);
    expect(calls).toEqual(['set 1 300', 'clear 1']);
    // the timer fires: the utterance settles with no clearTimeout of the fired timer
    const c = make();
    c.u.endAudio();
    pending.get(2)!();
    await c.done;
    c.u.abort();
    expect(c.errors.map((e) => e.message)).toEqual(['Final transcript timed out after 300 ms']);
    expect(calls).toEqual(['set 1 300', 'clear 1', 'set 2 300']);
  });
});
