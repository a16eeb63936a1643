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
});
