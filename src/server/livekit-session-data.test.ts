/**
 * Data packets from the page, at the edges of what a LiveKit room's session reads: invalid UTF-8 inside
 * an otherwise valid JSON string is refused (the decoder is strict, not replacing), a refusal carries
 * the JSON limit error as its cause, and `client.data` without a topic has no `topic` key at all.
 * The room is a stand-in with the interface the session uses; the models are the offline demo's.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { startRoomSession } from '../../test/support/livekit-room-stub.ts';
import { JsonLimitError } from '../json-limits.ts';
import { RTVI_MAX_JSON_DEPTH } from '../surfaces/rtvi/messages.ts';
import type { IncomingData } from '../transports/livekit/room-options.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function start() {
  const { handlers, events } = startRoomSession('room-data', 'lk-data-1', cleanup, { mediaConnected: false });
  const ofType = (type: string) => events.filter((e) => e.type === type).map((e) => e.payload);
  return { handlers, ofType };
}

const packet = (topic: string | undefined, payload: Uint8Array): IncomingData => ({
  type: 'data',
  topic,
  payload,
  reliable: true,
});

describe('LiveKit session: data packets at the edges', () => {
  it('invalid UTF-8 inside a JSON string is refused, not decoded with replacement characters', () => {
    const { handlers, ofType } = start();
    handlers.data!(packet('order', new Uint8Array([0x22, 0xff, 0x22])), 'guest');
    expect(ofType('client.data')).toEqual([]);
    const [error] = ofType('error') as Array<{ error: { code: string; message: string; cause?: unknown } }>;
    expect([error?.error.code, error?.error.message, error?.error.cause]).toEqual([
      'invalid_client_data',
      'Data from the page must be UTF-8 JSON',
      undefined,
    ]);
  });

  it('a refusal of the JSON itself carries the limit error as its cause', () => {
    const { handlers, ofType } = start();
    const deep = `${'['.repeat(RTVI_MAX_JSON_DEPTH + 1)}${']'.repeat(RTVI_MAX_JSON_DEPTH + 1)}`;
    handlers.data!(packet('order', new TextEncoder().encode(deep)), 'guest');
    const [error] = ofType('error') as Array<{ error: { cause?: unknown } }>;
    expect(error?.error.cause).toBeInstanceOf(JsonLimitError);
    expect(error?.error.cause).toMatchObject({ code: 'json_too_deep' });
  });

  it('client.data without a topic has no topic key', () => {
    const { handlers, ofType } = start();
    handlers.data!(packet(undefined, new TextEncoder().encode('{"a":1}')), 'guest');
    expect(ofType('client.data')).toStrictEqual([
      { sessionId: 'lk-data-1', transport: 'livekit', payload: { a: 1 } },
    ]);
  });
});
