/** The RTVI projection's per-session memory of interrupted turns is bounded: the 32 newest. */
import { describe, expect, it } from 'vitest';
import { RtviState } from './rtvi-table.ts';

describe('RtviState: interrupted turns', () => {
  it('a turn is marked once; the 32 newest are remembered, older ones forgotten', () => {
    const state = new RtviState('u', undefined);
    expect(state.markInterrupted('t0')).toBe(true);
    expect(state.markInterrupted('t0')).toBe(false); // already marked: one bot-interrupted per turn
    for (let i = 1; i <= 32; i++) state.markInterrupted(`t${i}`);
    expect(state.interrupted).toHaveLength(32);
    expect(state.isInterrupted('t0')).toBe(false); // the 33rd newest
    expect(state.isInterrupted('t1')).toBe(true); // the 32nd newest
    expect(state.isInterrupted('t32')).toBe(true);
  });
});
