import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EndOfTurnContext, EndOfTurnDetector } from '../../providers/types.ts';
import { type EndOfTurnReason, Endpointing } from './endpointing.ts';

function detector(probability: number, delayMs = 0): EndOfTurnDetector & { calls: EndOfTurnContext[] } {
  const calls: EndOfTurnContext[] = [];
  return {
    provider: 'test',
    calls,
    async predict(context) {
      calls.push(context);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return probability;
    },
  };
}

function setup(endOfTurn?: EndOfTurnDetector) {
  const ends: Array<{ reason: EndOfTurnReason; silenceMs: number }> = [];
  const e = new Endpointing(
    { endpointingMs: 500, maxEndpointingMs: 2000, endOfTurn },
    { transcript: () => 'I was thinking', onEndOfTurn: (info) => ends.push(info) },
  );
  return { e, ends };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Endpointing', () => {
  it('cancel stops both timers of a pending end: none is left armed, and no end comes', async () => {
    const { e, ends } = setup(detector(0.1));
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(600); // the detector said "not yet": the max-wait timer runs
    expect(vi.getTimerCount()).toBe(1);
    e.cancel();
    expect(vi.getTimerCount()).toBe(0);
    expect(e.currentState).toBe('idle');
    await vi.advanceTimersByTimeAsync(5000);
    expect(ends).toEqual([]);
  });

  it('ends the turn after endpointingMs of silence', async () => {
    const { e, ends } = setup();
    e.speechStopped();
    expect(e.currentState).toBe('waiting');
    await vi.advanceTimersByTimeAsync(499);
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ reason: 'silence', silenceMs: 500 }]);
    expect(e.currentState).toBe('idle');
  });

  it('counts the silence from when it was heard: speechStopped(sinceMs) waits only the rest', async () => {
    const { e, ends } = setup();
    e.speechStopped(120); // the VAD scored the deciding audio 120 ms after it arrived
    await vi.advanceTimersByTimeAsync(379);
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ reason: 'silence', silenceMs: 500 }]);
    // a delay beyond endpointingMs ends the turn on the next timer turn, after endpointingMs in all
    e.speechStopped(900);
    await vi.advanceTimersByTimeAsync(0);
    expect(ends[1]).toEqual({ reason: 'silence', silenceMs: 500 });
  });

  it('with a detector, maxEndpointingMs counts from when the silence was heard too', async () => {
    const det = detector(0.1);
    const { e, ends } = setup(det);
    e.speechStopped(200);
    await vi.advanceTimersByTimeAsync(300);
    expect(det.calls.map((c) => c.silenceMs)).toEqual([500]);
    expect(e.currentState).toBe('extended');
    await vi.advanceTimersByTimeAsync(1499);
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ reason: 'max_wait', silenceMs: 2000 }]);
  });

  it('speech resuming cancels the pending end', async () => {
    const { e, ends } = setup();
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(300);
    e.speechStarted();
    await vi.advanceTimersByTimeAsync(5000);
    expect(ends).toEqual([]);
  });

  it('ends at endpointingMs when the detector says the user is done', async () => {
    const d = detector(0.9);
    const { e, ends } = setup(d);
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    expect(ends).toEqual([{ reason: 'detector', silenceMs: 500 }]);
    expect(d.calls[0]).toMatchObject({ transcript: 'I was thinking', silenceMs: 500, history: [] });
  });

  it('extends up to maxEndpointingMs when the detector says not done', async () => {
    const { e, ends } = setup(detector(0.1));
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(1999);
    expect(e.currentState).toBe('extended');
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ reason: 'max_wait', silenceMs: 2000 }]);
  });

  it('bounds a slow detector by maxEndpointingMs and cancels it when speech resumes', async () => {
    const slow = setup(detector(0.9, 5000));
    slow.e.speechStopped();
    await vi.advanceTimersByTimeAsync(2000);
    expect(slow.ends).toEqual([{ reason: 'max_wait', silenceMs: 2000 }]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(slow.ends).toHaveLength(1);

    const d = detector(0.9, 300);
    const resumed = setup(d);
    resumed.e.speechStopped();
    await vi.advanceTimersByTimeAsync(600);
    resumed.e.speechStarted();
    expect(d.calls[0]!.abortSignal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(resumed.ends).toEqual([]);
  });

  it('waits 500 ms by default, and bounds a detector that says not done at 2000 ms', async () => {
    const plain: number[] = [];
    new Endpointing(
      {},
      { transcript: () => '', onEndOfTurn: (i) => plain.push(i.silenceMs) },
    ).speechStopped();
    await vi.advanceTimersByTimeAsync(499);
    expect(plain).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(plain).toEqual([500]);

    const bounded: Array<{ reason: EndOfTurnReason; silenceMs: number }> = [];
    const e = new Endpointing(
      { endOfTurn: detector(0.1) },
      { transcript: () => '', onEndOfTurn: (i) => bounded.push(i) },
    );
    expect([e.endpointingMs, e.maxEndpointingMs]).toEqual([500, 2000]);
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(1999);
    expect(bounded).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(bounded).toEqual([{ reason: 'max_wait', silenceMs: 2000 }]);
  });

  it('a maxEndpointingMs below endpointingMs is raised to it', () => {
    const e = new Endpointing(
      { endpointingMs: 800, maxEndpointingMs: 300 },
      { transcript: () => '', onEndOfTurn: () => {} },
    );
    expect(e.maxEndpointingMs).toBe(800);
  });

  it("the detector's own threshold decides, a probability equal to it included", async () => {
    const at = (probability: number, threshold?: number) => ({ ...detector(probability), threshold });
    const cases: Array<[probability: number, threshold: number | undefined, ended: EndOfTurnReason]> = [
      [0.5, undefined, 'detector'],
      [0.49, undefined, 'max_wait'],
      [0.3, 0.3, 'detector'],
      [0.6, 0.7, 'max_wait'],
    ];
    for (const [probability, threshold, ended] of cases) {
      const { e, ends } = setup(at(probability, threshold));
      e.speechStopped();
      await vi.advanceTimersByTimeAsync(2000);
      expect(
        ends.map((x) => x.reason),
        `p=${probability} threshold=${threshold}`,
      ).toEqual([ended]);
    }
  });

  it('a failing detector is reported and the turn ends on silence', async () => {
    const errors: unknown[] = [];
    const ends: EndOfTurnReason[] = [];
    const failure = new Error('model gone');
    const e = new Endpointing(
      {
        endpointingMs: 500,
        maxEndpointingMs: 2000,
        endOfTurn: { provider: 'test', predict: () => Promise.reject(failure) },
      },
      {
        transcript: () => '',
        onEndOfTurn: (i) => ends.push(i.reason),
        onDetectorError: (err) => errors.push(err),
      },
    );
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    expect(errors).toEqual([failure]);
    expect(ends).toEqual(['silence']);
    expect(e.currentState).toBe('idle');
    await vi.advanceTimersByTimeAsync(5000);
    expect(ends).toEqual(['silence']);
  });

  it('a detector answering after speech resumed, or failing then, ends nothing', async () => {
    let answer: ((p: number) => void) | undefined;
    let fail: ((e: unknown) => void) | undefined;
    const errors: unknown[] = [];
    const ends: EndOfTurnReason[] = [];
    const e = new Endpointing(
      {
        endpointingMs: 500,
        maxEndpointingMs: 2000,
        endOfTurn: {
          provider: 'test',
          predict: () =>
            new Promise<number>((resolve, reject) => {
              answer = resolve;
              fail = reject;
            }),
        },
      },
      {
        transcript: () => '',
        onEndOfTurn: (i) => ends.push(i.reason),
        onDetectorError: (err) => errors.push(err),
      },
    );
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    expect(e.currentState).toBe('checking');
    e.speechStarted();
    answer?.(0.9);
    await vi.advanceTimersByTimeAsync(0);
    expect(ends).toEqual([]);

    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    e.speechStarted();
    fail?.(new Error('late'));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([]);
    expect(ends).toEqual([]);
  });

  it('a check overtaken by a newer one: its late failure or answer ends nothing, the newer one decides', async () => {
    const pending: Array<{ answer: (p: number) => void; fail: (e: unknown) => void }> = [];
    const errors: unknown[] = [];
    const ends: EndOfTurnReason[] = [];
    const e = new Endpointing(
      {
        endpointingMs: 500,
        maxEndpointingMs: 2000,
        endOfTurn: {
          provider: 'test',
          predict: () => new Promise<number>((answer, fail) => pending.push({ answer, fail })),
        },
      },
      {
        transcript: () => '',
        onEndOfTurn: (i) => ends.push(i.reason),
        onDetectorError: (err) => errors.push(err),
      },
    );
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    e.speechStarted();
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    expect(pending).toHaveLength(2);
    expect(e.currentState).toBe('checking'); // the second check runs

    pending[0]!.fail(new Error('late'));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([]);
    expect(ends).toEqual([]);
    expect(e.currentState).toBe('checking');

    pending[1]!.answer(0.9);
    await vi.advanceTimersByTimeAsync(0);
    expect(ends).toEqual(['detector']);
  });

  it('a late answer of an overtaken check ends nothing', async () => {
    const pending: Array<(p: number) => void> = [];
    const ends: EndOfTurnReason[] = [];
    const e = new Endpointing(
      {
        endpointingMs: 500,
        maxEndpointingMs: 2000,
        endOfTurn: { provider: 'test', predict: () => new Promise<number>((answer) => pending.push(answer)) },
      },
      { transcript: () => '', onEndOfTurn: (i) => ends.push(i.reason) },
    );
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    e.speechStarted();
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    pending[0]!(0.9);
    await vi.advanceTimersByTimeAsync(0);
    expect(ends).toEqual([]);
    expect(e.currentState).toBe('checking');
  });

  it('the detector sees the conversation so far', async () => {
    const d = detector(0.9);
    const history = [
      { role: 'assistant' as const, text: 'How many people?' },
      { role: 'user' as const, text: 'two' },
    ];
    const e = new Endpointing(
      { endpointingMs: 500, endOfTurn: d },
      { transcript: () => 'two', history: () => history, onEndOfTurn: () => {} },
    );
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    expect(d.calls[0]).toMatchObject({ transcript: 'two', history, silenceMs: 500 });
  });

  it('a second stop restarts the wait from that stop', async () => {
    const { e, ends } = setup();
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(400);
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(499);
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ reason: 'silence', silenceMs: 500 }]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(ends).toHaveLength(1);
  });
});

describe('Endpointing timers', () => {
  it('without a detector one timer waits (no max-wait timer); with one, two', () => {
    const plain = setup();
    plain.e.speechStopped();
    expect(vi.getTimerCount()).toBe(1);
    plain.e.cancel();
    const checked = setup(detector(0.1));
    checked.e.speechStopped();
    expect(vi.getTimerCount()).toBe(2);
    checked.e.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the clock is asked to clear only the timers it armed', async () => {
    const armed: unknown[] = [];
    const cleared: unknown[] = [];
    const ends: EndOfTurnReason[] = [];
    const e = new Endpointing(
      {
        endpointingMs: 500,
        clock: {
          now: () => Date.now(),
          setTimeout: (fn, ms) => {
            const handle = setTimeout(fn, ms);
            armed.push(handle);
            return handle;
          },
          clearTimeout: (handle) => {
            cleared.push(handle);
            clearTimeout(handle as ReturnType<typeof setTimeout>);
          },
        },
      },
      { transcript: () => '', onEndOfTurn: (i) => ends.push(i.reason) },
    );
    e.cancel();
    e.speechStarted();
    expect(cleared).toEqual([]);
    e.speechStopped();
    expect(armed).toHaveLength(1);
    e.speechStarted();
    expect(cleared).toEqual([armed[0]]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(ends).toEqual([]);
  });

  it.each([
    [-100, 500],
    [0, 500],
    [1, 499],
    [500, 0],
  ])('speechStopped(%i) ends the turn %i ms later, with 500 ms of silence', async (sinceMs, waitMs) => {
    const { e, ends } = setup();
    e.speechStopped(sinceMs);
    if (waitMs > 0) {
      await vi.advanceTimersByTimeAsync(waitMs - 1);
      expect(ends).toEqual([]);
    }
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ reason: 'silence', silenceMs: 500 }]);
  });

  it('a failing detector without onDetectorError still ends the turn on silence at endpointingMs', async () => {
    const ends: Array<{ reason: EndOfTurnReason; silenceMs: number }> = [];
    const e = new Endpointing(
      {
        endpointingMs: 500,
        maxEndpointingMs: 2000,
        endOfTurn: { provider: 'test', predict: () => Promise.reject(new Error('model gone')) },
      },
      { transcript: () => '', onEndOfTurn: (i) => ends.push(i) },
    );
    e.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    expect(ends).toEqual([{ reason: 'silence', silenceMs: 500 }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the detector is asked with the transcript and history read when the silence is over, not at the stop', async () => {
    const d = detector(0.9);
    let words = 'I want';
    const e = new Endpointing(
      { endpointingMs: 500, endOfTurn: d },
      { transcript: () => words, onEndOfTurn: () => {} },
    );
    e.speechStopped();
    words = 'I want two';
    await vi.advanceTimersByTimeAsync(500);
    expect(d.calls).toHaveLength(1);
    expect(d.calls[0]).toMatchObject({ transcript: 'I want two', history: [], silenceMs: 500 });
    expect(d.calls[0]!.abortSignal?.aborted).toBe(true); // the turn ended: the finished check is released
  });
});
