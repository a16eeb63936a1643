/**
 * Records the events of a realtime connection and waits for them (tests of `RealtimeModel`
 * adapters and of the fake servers).
 */
import type { RealtimeEvent } from '../providers/realtime/types.ts';

export class RealtimeEventLog {
  readonly events: RealtimeEvent[] = [];
  private waiters: Array<{ test: (e: RealtimeEvent) => boolean; resolve: (e: RealtimeEvent) => void }> = [];

  /** Pass as `onEvent`. */
  readonly push = (event: RealtimeEvent): void => {
    this.events.push(event);
    const hit = this.waiters.filter((w) => w.test(event));
    this.waiters = this.waiters.filter((w) => !w.test(event));
    for (const w of hit) w.resolve(event);
  };

  of<T extends RealtimeEvent['type']>(type: T): Array<Extract<RealtimeEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<RealtimeEvent, { type: T }> => e.type === type);
  }

  /** The first event of `type` passing `test` after the first `after` events. */
  next<T extends RealtimeEvent['type']>(
    type: T,
    test: (e: Extract<RealtimeEvent, { type: T }>) => boolean = () => true,
    after = 0,
  ): Promise<Extract<RealtimeEvent, { type: T }>> {
    const match = (e: RealtimeEvent) => e.type === type && test(e as Extract<RealtimeEvent, { type: T }>);
    const found = this.events.slice(after).find(match);
    if (found) return Promise.resolve(found as Extract<RealtimeEvent, { type: T }>);
    return new Promise((resolve) =>
      this.waiters.push({ test: match, resolve: (e) => resolve(e as Extract<RealtimeEvent, { type: T }>) }),
    );
  }

  /** Total ms of audio received (at `sampleRate`). */
  audioMs(sampleRate: number): number {
    let n = 0;
    for (const e of this.events) if (e.type === 'audio') n += e.pcm.length;
    return (n * 1000) / sampleRate;
  }
}
