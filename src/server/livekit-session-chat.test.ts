/**
 * `lk.chat` text the session refuses (over the session's 8000 characters: the room takes text
 * streams up to 64 KiB) is reported as a `livekit` warning like any other refused chat, not thrown
 * back into the room's data handler (where the WebRTC peer's guard swallowed it, so nobody heard of it).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { startRoomSession } from '../../test/support/livekit-room-stub.ts';
import type { IncomingData } from '../transports/livekit/room-options.ts';
import { CHAT_TOPIC } from './livekit-session.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function start() {
  const { lk, handlers, events } = startRoomSession('room-chat', 'lk-chat-1', cleanup);
  const chat = (text: string): IncomingData => ({ type: 'text', topic: CHAT_TOPIC, text, attributes: {} });
  return { lk, handlers, events, chat };
}

describe('LiveKit chat text the session refuses', () => {
  it('is reported once as a livekit warning (text_too_long), and the next message is taken', async () => {
    const { lk, handlers, events, chat } = start();
    expect(() => handlers.data!(chat('x'.repeat(8001)), 'guest')).not.toThrow();
    const errors = events
      .filter((e) => e.type === 'error')
      .map(
        (e) => e.payload as { component: string; severity: string; error: { code: string; message: string } },
      );
    expect(errors.map((e) => [e.component, e.severity, e.error.code, e.error.message])).toEqual([
      ['livekit', 'warn', 'text_too_long', 'Text has 8001 characters; the limit is 8000'],
    ]);
    handlers.data!(chat('x'.repeat(8000)), 'guest');
    await expect.poll(() => lk.session.history.filter((m) => m.role === 'user').length).toBe(1);
  });
});
