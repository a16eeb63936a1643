/**
 * A session's idle timeout (`IdleWatch`) on a real event bus, with Vitest's fake clock: idle after
 * `timeoutMs` without user input; user text and speech, and the bot finishing speaking, start the
 * wait over; nobody is idle while the user or the bot is speaking.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { IdleWatch } from './idle-watch.ts';

const TIMEOUT = 1000;
const S = 's1';

function setup(options: { timeoutMs?: number; active?: () => boolean } = {}) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  let idle = 0;
  const watch = new IdleWatch(bus, options.timeoutMs ?? TIMEOUT, options.active ?? (() => true), () => {
    idle++;
  });
  return { bus, watch, idle: () => idle };
}

describe('IdleWatch', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is idle once, timeoutMs after it was armed', () => {
    const { watch, idle } = setup();
    watch.arm();
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(idle()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle()).toBe(1);
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(idle()).toBe(1);
  });

  it('user text starts the wait over', () => {
    const { bus, watch, idle } = setup();
    watch.arm();
    vi.advanceTimersByTime(TIMEOUT - 1);
    bus.publish('user.text', { sessionId: S, turnId: 't1', text: 'hello', source: 'text' });
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(idle()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle()).toBe(1);
  });

  it('not idle while the user speaks; the wait starts over when the user stops', () => {
    const { bus, watch, idle } = setup();
    watch.arm();
    bus.publish('user.speech.start', { sessionId: S, at: 0 });
    vi.advanceTimersByTime(5 * TIMEOUT);
    expect(idle()).toBe(0);
    bus.publish('user.speech.stop', { sessionId: S, at: 0, durationMs: 5 * TIMEOUT });
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(idle()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle()).toBe(1);
  });

  it('not idle while the bot speaks; the wait starts over when it stops', () => {
    const { bus, watch, idle } = setup();
    watch.arm();
    bus.publish('bot.speaking.start', { sessionId: S, turnId: 't1' });
    vi.advanceTimersByTime(5 * TIMEOUT);
    expect(idle()).toBe(0);
    bus.publish('bot.speaking.stop', { sessionId: S, turnId: 't1', interrupted: false });
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(idle()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle()).toBe(1);
  });

  it.each([
    ['inactive (no client-ready yet)', { active: () => false }],
    ['timeoutMs 0 (no idle timeout)', { timeoutMs: 0 }],
  ])('never idle when %s', (_name, options) => {
    const { bus, watch, idle } = setup(options);
    watch.arm();
    bus.publish('user.text', { sessionId: S, turnId: 't1', text: 'hello', source: 'text' });
    vi.advanceTimersByTime(100 * TIMEOUT);
    expect(idle()).toBe(0);
  });

  it('paused or disposed: no idle, and events no longer arm it', () => {
    const paused = setup();
    paused.watch.arm();
    paused.watch.pause();
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(paused.idle()).toBe(0);
    const disposed = setup();
    disposed.watch.arm();
    disposed.watch.dispose();
    disposed.bus.publish('user.text', { sessionId: S, turnId: 't1', text: 'hello', source: 'text' });
    disposed.bus.publish('bot.speaking.stop', { sessionId: S, turnId: 't1', interrupted: false });
    vi.advanceTimersByTime(10 * TIMEOUT);
    expect(disposed.idle()).toBe(0);
  });
});
