import { describe, expect, it } from 'vitest';
import { roomOf } from './primary-proxy.ts';
import { isPrimaryMessage, isWorkerMessage, pickUpFilter } from './worker-messages.ts';

describe('worker messages', () => {
  it('accepts only well-formed messages of its own kind', () => {
    expect(isWorkerMessage({ colloquy: 1, type: 'listening', port: 4000 })).toBe(true);
    expect(isWorkerMessage({ colloquy: 1, type: 'session', sessionId: 's', live: true, count: 1 })).toBe(
      true,
    );
    expect(isWorkerMessage({ colloquy: 1, type: 'metrics', requestId: 3, metrics: [] })).toBe(true);
    for (const bad of [
      null,
      'listening',
      { type: 'listening', port: 4000 },
      { colloquy: 1, type: 'listening', port: '4000' },
      { colloquy: 1, type: 'session', sessionId: 's', live: 'yes', count: 1 },
      { colloquy: 1, type: 'other' },
    ]) {
      expect(isWorkerMessage(bad)).toBe(false);
    }
    expect(isPrimaryMessage({ colloquy: 1, type: 'metrics', requestId: 1 })).toBe(true);
    expect(isPrimaryMessage({ colloquy: 1, type: 'metrics' })).toBe(false);
  });

  it('COLLOQUY_WORKER_PICKUP: all (or unset), none, or the listed session ids; anything else picks up nothing', () => {
    expect(pickUpFilter(undefined)).toBeUndefined();
    expect(pickUpFilter('all')).toBeUndefined();
    expect(pickUpFilter('none')?.('s')).toBe(false);
    const listed = pickUpFilter('["s-1","s-2",3]');
    expect([listed?.('s-1'), listed?.('s-2'), listed?.('s-3'), listed?.('3')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(pickUpFilter('{bad')?.('s-1')).toBe(false);
    expect(pickUpFilter('{"s-1":1}')?.('s-1')).toBe(false);
  });

  it("roomOf reads a LiveKit token's room claim and refuses what is not one", () => {
    const body = Buffer.from(
      JSON.stringify({ sub: 'ana', video: { room: 'colloquy-ab12', roomJoin: true } }),
    ).toString('base64url');
    expect(roomOf(`e30.${body}.sig`)).toBe('colloquy-ab12');
    expect(roomOf(null)).toBeUndefined();
    expect(roomOf('not-a-jwt')).toBeUndefined();
    expect(
      roomOf(`e30.${Buffer.from('[[[[[[[[[[[[1]]]]]]]]]]]]').toString('base64url')}.sig`),
    ).toBeUndefined();
    expect(roomOf(`e30.${Buffer.from('{"video":{"room":5}}').toString('base64url')}.sig`)).toBeUndefined();
    expect(roomOf(`e30.${'A'.repeat(9000)}.sig`)).toBeUndefined();
  });
});
