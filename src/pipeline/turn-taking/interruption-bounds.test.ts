import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InterruptionPolicy } from './interruption.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('InterruptionPolicy bounds', () => {
  it('a second speech start while pending neither restarts nor advances the count', () => {
    const calls: string[] = [];
    const policy = new InterruptionPolicy(
      { minInterruptionMs: 300 },
      {
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        interrupt: (reason) => calls.push(`interrupt:${reason}`),
      },
      () => true,
    );
    policy.speechStarted(1000, 1100);
    expect(policy.currentState).toBe('pending');
    // Already pending: ignored, even with a position past minInterruptionMs.
    policy.speechStarted(1000, 1400);
    expect(calls).toEqual(['pause']);
    expect(policy.currentState).toBe('pending');
    policy.progress(1299);
    expect(calls).toEqual(['pause']);
    policy.progress(1300);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    // Triggered: a new speech start changes nothing.
    policy.speechStarted(5000, 6000);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
  });
  it('a wordless sound made a real interruption at the timeout ends the episode: the next speech pauses again', async () => {
    const calls: string[] = [];
    const policy = new InterruptionPolicy(
      { minInterruptionMs: 300, resumeFalseInterruption: false, falseInterruptionTimeoutMs: 1000 },
      {
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        interrupt: (reason) => calls.push(`interrupt:${reason}`),
      },
      () => true,
    );
    policy.speechStarted(0, 100);
    policy.speechStopped();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    expect(policy.currentState).toBe('idle');
    policy.speechStarted(3000, 3100);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking', 'pause']);
    expect(policy.currentState).toBe('pending');
  });
});
