/**
 * What a LiveKit room's session takes from the room: the microphone's audio (a frame at a rate the
 * pipeline refuses is reported once, as a `livekit` warning) and `lk.chat` text (trimmed; blank text
 * is nothing). The room is a stand-in with the interface the session uses (the WebRTC side is covered
 * by the LiveKit e2e tests); the models are the offline demo's, with the energy VAD.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { startRoomSession } from '../../test/support/livekit-room-stub.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function start() {
  return startRoomSession('room-1', 'lk-input-1', cleanup);
}

describe('LiveKit session input', () => {
  it("the microphone's audio reaches the session; a frame it refuses is reported once, as a livekit warning", async () => {
    const { handlers, events, lk } = start();
    const levels: number[] = [];
    lk.session.eventBus.subscribe('audio.level', (p) => levels.push(p.level));
    handlers.micAudio!(new Int16Array(320).fill(3000), 16000);
    await expect.poll(() => levels.length).toBeGreaterThan(0);
    expect(levels[0]).toBeGreaterThan(0);
    handlers.micAudio!(new Int16Array(123).fill(3000), 12345);
    handlers.micAudio!(new Int16Array(123).fill(3000), 12345);
    const errors = events
      .filter((e) => e.type === 'error')
      .map((e) => e.payload as { component: string; severity: string; error: { code: string } });
    expect(errors.map((e) => [e.component, e.severity, e.error.code])).toEqual([
      ['livekit', 'warn', 'unsupported_sample_rate'],
    ]);
  });

  it('chat text is trimmed before it becomes the user turn; blank text is nothing', async () => {
    const { handlers, events, lk } = start();
    handlers.data!({ type: 'text', topic: 'lk.chat', text: '   ' } as never, 'guest');
    handlers.data!({ type: 'text', topic: 'lk.chat', text: '  when is breakfast?  ' } as never, 'guest');
    await expect.poll(() => lk.session.history.filter((m) => m.role === 'user').length).toBe(1);
    expect(lk.session.history.filter((m) => m.role === 'user')).toEqual([
      { role: 'user', content: 'when is breakfast?' },
    ]);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });
});
