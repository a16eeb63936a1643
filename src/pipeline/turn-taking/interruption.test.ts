import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { countWords, type InterruptionOptions, InterruptionPolicy } from './interruption.ts';

function setup(options: InterruptionOptions = {}, botSpeaking = true) {
  const calls: string[] = [];
  const policy = new InterruptionPolicy(
    { minInterruptionMs: 300, falseInterruptionTimeoutMs: 1000, ...options },
    {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      interrupt: (reason) => calls.push(`interrupt:${reason}`),
    },
    () => botSpeaking,
  );
  return { policy, calls };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('InterruptionPolicy', () => {
  it('pauses at speech start and interrupts once speech lasts minInterruptionMs', () => {
    const { policy, calls } = setup();
    policy.speechStarted(1200, 1300);
    expect(calls).toEqual(['pause']);
    policy.progress(1499);
    expect(calls).toEqual(['pause']);
    policy.progress(1500);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    policy.progress(1600);
    policy.speechStopped();
    expect(calls).toHaveLength(2);
    expect(policy.currentState).toBe('idle');
  });

  it('does nothing while the bot is silent', () => {
    const { policy, calls } = setup({}, false);
    policy.speechStarted(0, 100);
    policy.progress(5000);
    expect(calls).toEqual([]);
  });

  it('resumes after a short wordless sound once the timeout passes', async () => {
    const { policy, calls } = setup();
    policy.speechStarted(1200, 1300);
    policy.progress(1350);
    policy.speechStopped();
    expect(policy.currentState).toBe('false_wait');
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['pause']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('interrupts anyway after the timeout when resumeFalseInterruption is false', async () => {
    const { policy, calls } = setup({ resumeFalseInterruption: false });
    policy.speechStarted(0, 100);
    policy.speechStopped();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
  });

  it('a transcript with words during the wait makes it a real interruption', async () => {
    const { policy, calls } = setup();
    policy.speechStarted(0, 100);
    policy.speechStopped();
    policy.transcript('');
    expect(calls).toEqual(['pause']);
    policy.transcript('stop');
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toHaveLength(2);
  });

  it('speech starting again during the wait keeps the output paused and counts from the new onset', async () => {
    const { policy, calls } = setup();
    policy.speechStarted(0, 100);
    policy.speechStopped();
    await vi.advanceTimersByTimeAsync(500);
    policy.speechStarted(900, 1000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toEqual(['pause']);
    policy.progress(1200);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
  });

  it('interrupts on interim words when minInterruptionWords is set', () => {
    const { policy, calls } = setup({ minInterruptionMs: 10_000, minInterruptionWords: 2 });
    policy.speechStarted(0, 100);
    policy.transcript('hey');
    expect(calls).toEqual(['pause']);
    policy.transcript("hey don't");
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
  });

  it('without pauseOnSpeech a short sound is simply ignored', () => {
    const { policy, calls } = setup({ pauseOnSpeech: false });
    policy.speechStarted(0, 100);
    policy.speechStopped();
    expect(policy.currentState).toBe('idle');
    expect(calls).toEqual([]);
  });

  it('counts words', () => {
    expect(countWords("  don't stop, 42 times! ")).toBe(4);
    expect(countWords('...')).toBe(0);
  });

  it('defaults: 300 ms of speech interrupts, words do not, output paused, resumed after 1000 ms', async () => {
    const calls: string[] = [];
    const policy = new InterruptionPolicy(
      {},
      {
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        interrupt: () => calls.push('interrupt'),
      },
      () => true,
    );
    expect([policy.minInterruptionWords, policy.pauseOnSpeech, policy.resumeFalseInterruption]).toEqual([
      0,
      true,
      true,
    ]);
    policy.speechStarted(0, 100);
    policy.transcript('stop stop stop stop');
    policy.progress(299);
    expect(calls).toEqual(['pause']);
    policy.speechStopped();
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['pause']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['pause', 'resume']);
    policy.speechStarted(2000, 2100);
    policy.progress(2300);
    expect(calls).toEqual(['pause', 'resume', 'pause', 'interrupt']);
  });

  it('minInterruptionMs 0 interrupts at speech start', () => {
    const { policy, calls } = setup({ minInterruptionMs: 0 });
    policy.speechStarted(500, 500);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    expect(policy.currentState).toBe('interrupted');
  });

  it('speech lasting long enough after the bot finished on its own cuts nothing', () => {
    let speaking = true;
    const calls: string[] = [];
    const policy = new InterruptionPolicy(
      { minInterruptionMs: 300 },
      {
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        interrupt: () => calls.push('interrupt'),
      },
      () => speaking,
    );
    policy.speechStarted(0, 100);
    speaking = false;
    policy.progress(400);
    expect(calls).toEqual(['pause']);
    expect(policy.currentState).toBe('interrupted');
  });

  it('speech starting again while pending or interrupted changes nothing', () => {
    const { policy, calls } = setup();
    policy.speechStarted(0, 100);
    policy.speechStarted(250, 250);
    policy.progress(300);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    policy.speechStarted(400, 400);
    policy.progress(2000);
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
    expect(policy.currentState).toBe('interrupted');
  });

  it('transcripts count only while pending (with minInterruptionWords) or during the wait', () => {
    const { policy, calls } = setup({ minInterruptionMs: 10_000 });
    policy.transcript('stop now please');
    policy.speechStarted(0, 100);
    policy.transcript('stop now please');
    expect(calls).toEqual(['pause']);
    expect(policy.currentState).toBe('pending');
  });

  it('reset forgets a waiting episode: no resume, no interrupt, and the next speech pauses again', async () => {
    const { policy, calls } = setup({ resumeFalseInterruption: false });
    policy.speechStarted(0, 100);
    policy.speechStopped();
    policy.reset();
    expect(policy.currentState).toBe('idle');
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual(['pause']);
    policy.speechStarted(6000, 6050);
    policy.speechStopped();
    expect(policy.currentState).toBe('false_wait');
    expect(calls).toEqual(['pause', 'pause']);
  });
});

describe('InterruptionPolicy timers and episodes', () => {
  it('speech again during the wait, then a second short sound: the wait restarts from the second stop', async () => {
    const { policy, calls } = setup();
    policy.speechStarted(0, 100);
    policy.speechStopped(); // false_wait, resume due at 1000
    await vi.advanceTimersByTimeAsync(500);
    policy.speechStarted(500, 600); // pending again: the first wait is cancelled
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    policy.speechStopped(); // false_wait again at 600: resume due at 1600
    expect(policy.currentState).toBe('false_wait');
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['pause']);
    expect(policy.currentState).toBe('false_wait');
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['pause', 'resume']);
    expect(policy.currentState).toBe('idle');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a second speech stop during the wait changes nothing: one wait, from the first stop', async () => {
    const { policy, calls } = setup();
    policy.speechStarted(0, 100);
    policy.speechStopped();
    await vi.advanceTimersByTimeAsync(600);
    policy.speechStopped();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toEqual(['pause', 'resume']);
    expect(vi.getTimerCount()).toBe(0);
    // the next short sound waits its own full timeout
    await vi.advanceTimersByTimeAsync(100);
    policy.speechStarted(1100, 1150);
    policy.speechStopped();
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['pause', 'resume', 'pause']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['pause', 'resume', 'pause', 'resume']);
  });

  it('a transcript with words during the wait cancels the wait timer', async () => {
    const { policy, calls } = setup();
    policy.speechStarted(0, 100);
    policy.speechStopped();
    policy.transcript('wait');
    expect(vi.getTimerCount()).toBe(0);
    expect(policy.currentState).toBe('interrupted');
    policy.speechStopped();
    expect(policy.currentState).toBe('idle');
    expect(calls).toEqual(['pause', 'interrupt:user_speaking']);
  });

  it('the clock is asked to clear only the timers it armed', async () => {
    const armed: unknown[] = [];
    const cleared: unknown[] = [];
    const calls: string[] = [];
    const policy = new InterruptionPolicy(
      {
        clock: {
          now: () => 0,
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
      {
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
        interrupt: () => calls.push('cut'),
      },
      () => true,
    );
    policy.reset();
    policy.speechStarted(0, 0);
    policy.progress(400); // interrupted with no wait armed
    policy.speechStopped();
    expect(cleared).toEqual([]);
    policy.speechStarted(1000, 1000);
    policy.speechStopped(); // a wait armed
    expect(armed).toHaveLength(1);
    policy.speechStarted(1200, 1200); // cancels it
    expect(cleared).toEqual([armed[0]]);
    policy.reset();
    expect(cleared).toEqual([armed[0]]);
    expect(calls).toEqual(['pause', 'cut', 'pause']);
  });

  it.each([
    ['never paused', (p: InterruptionPolicy) => p],
    [
      'after a reset while pending',
      (p: InterruptionPolicy) => {
        p.speechStarted(0, 0);
        p.reset();
      },
    ],
    [
      'after an interruption',
      (p: InterruptionPolicy) => {
        p.speechStarted(0, 0);
        p.progress(300);
        p.speechStopped();
      },
    ],
  ])('without pauseOnSpeech a short sound %s is ignored: no wait, no resume', async (_name, before) => {
    const { policy, calls } = setup({ pauseOnSpeech: false });
    before(policy);
    const earlier = [...calls];
    policy.speechStarted(5000, 5050);
    policy.speechStopped();
    expect(policy.currentState).toBe('idle');
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual(earlier);
    expect(calls.filter((c) => c === 'pause' || c === 'resume')).toEqual([]);
  });
});

describe('countWords', () => {
  it.each([
    ['', 0],
    ['...', 0],
    ['stop', 1],
    ["don't", 1],
    ['don’t', 1],
    ["we're", 1],
    ["rock'n'roll", 1],
    ["'quoted'", 1],
    ['42', 1],
    ['90s', 1],
    ['café au lait', 3],
    ['日本', 1],
    ["  don't stop, 42 times! ", 4],
    ["it's-a me", 3],
  ])('%j has %i words', (text, words) => {
    expect(countWords(text)).toBe(words);
  });
});
