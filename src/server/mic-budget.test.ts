import { describe, expect, it } from 'vitest';
import { MIC_BURST_MS, MicBudget } from './mic-budget.ts';

const frame20ms = 320; // samples at 16 kHz

describe('MicBudget', () => {
  it('real-time audio always passes', () => {
    let now = 0;
    const mic = new MicBudget(2, () => now);
    for (let i = 0; i < 5000; i++) {
      expect(mic.admit(frame20ms, 16000)).toBe(true);
      now += 20;
    }
  });

  it('a burst of 15 s passes at once, then audio faster than 2× real time is dropped', () => {
    let now = 0;
    const mic = new MicBudget(2, () => now);
    let passed = 0;
    for (let i = 0; i < 1000; i++) if (mic.admit(frame20ms, 16000)) passed++;
    expect(passed).toBe(MIC_BURST_MS / 20);
    // One second later: two seconds of audio more, no more.
    now = 1000;
    passed = 0;
    for (let i = 0; i < 1000; i++) if (mic.admit(frame20ms, 16000)) passed++;
    expect(passed).toBe(100);
    expect(mic.refusal()).toBe('mic audio arrives faster than 2× real time');
  });

  it('counts by duration, whatever the sample rate', () => {
    const mic = new MicBudget(1, () => 0);
    expect(mic.admit(48000 * 10, 48000)).toBe(true); // 10 s
    expect(mic.admit(8000 * 5, 8000)).toBe(true); // 5 s: the burst is used up
    expect(mic.admit(8, 8000)).toBe(false);
  });
});

describe('MicBudget: a bad sample rate', () => {
  it.each([0, -16000, Number.NaN])(
    'rate %s passes (the session refuses it with its own code) and costs nothing',
    (rate) => {
      const mic = new MicBudget(1, () => 0);
      expect(mic.admit(1_000_000, rate)).toBe(true);
      expect(mic.admit(16000 * 15, 16000)).toBe(true); // the whole burst is still there
      expect(mic.admit(16, 16000)).toBe(false);
    },
  );
});
