import { describe, expect, it } from 'vitest';
import { ClientGate, ClientLimitError } from './client-gate.ts';

const limits = { connectsPerMinute: 60, connectBurst: 3, maxSessionsPerClient: 2 };

function refusal(fn: () => unknown): ClientLimitError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClientLimitError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('ClientGate', () => {
  it('a burst, then the per-minute rate; other clients are not affected', () => {
    let now = 0;
    const gate = new ClientGate(limits, () => now);
    for (let i = 0; i < 3; i++) gate.request('10.0.0.1');
    const err = refusal(() => gate.request('10.0.0.1'));
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryable: true, retryAfterSeconds: 1 });
    expect(err.message).toMatch(/60 per minute/);
    gate.request('10.0.0.2'); // another client: its own bucket
    now += 1000; // one token back (60 per minute)
    gate.request('10.0.0.1');
    expect(refusal(() => gate.request('10.0.0.1')).code).toBe('rate_limited');
    now += 60_000; // refilled to the burst, not beyond
    for (let i = 0; i < 3; i++) gate.request('10.0.0.1');
    expect(refusal(() => gate.request('10.0.0.1')).code).toBe('rate_limited');
  });

  it('a client hammering past its rate stays refused until its next token is due', () => {
    let now = 0;
    const gate = new ClientGate({ ...limits, connectBurst: 1 }, () => now);
    gate.request('a');
    for (let i = 0; i < 99; i++) {
      now += 10;
      expect(() => gate.request('a')).toThrow(ClientLimitError);
    }
    now += 10; // one second after the first request: one token (60 per minute)
    gate.request('a');
    expect(() => gate.request('a')).toThrow(ClientLimitError);
  });

  it('sessions per client: a share each, given back when a session ends', () => {
    const gate = new ClientGate(limits);
    const a1 = gate.openSession('a');
    gate.openSession('a');
    const err = refusal(() => gate.openSession('a'));
    expect(err).toMatchObject({ code: 'too_many_sessions', status: 429 });
    expect(err.message).toMatch(/Too many sessions from your address \(2\)/);
    gate.openSession('b');
    a1.release();
    a1.release(); // idempotent
    expect(gate.sessionsOf('a')).toBe(1);
    gate.openSession('a');
    expect(gate.sessionsOf('a')).toBe(2);
  });

  it('remembers a bounded number of clients (least recently seen go first)', () => {
    const gate = new ClientGate({ ...limits, connectBurst: 1 }, () => 0, 100);
    gate.request('first');
    for (let i = 0; i < 100; i++) gate.request(`c${i}`);
    // 'first' was forgotten: a fresh bucket; the most recent clients are still remembered.
    gate.request('first');
    expect(() => gate.request('c99')).toThrow(ClientLimitError);
  });
});

describe('ClientGate: retry times and the client memory', () => {
  it.each([
    [60, 1],
    [6, 10],
    [11, 6], // 5.45 s, rounded up
    [120, 1], // 0.5 s: at least 1
  ])('%s per minute, burst used up: retry after %s s', (perMinute, seconds) => {
    const gate = new ClientGate({ ...limits, connectsPerMinute: perMinute, connectBurst: 1 }, () => 0);
    gate.request('a');
    const err = refusal(() => gate.request('a'));
    expect(err).toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: seconds,
      retryable: true,
      details: { retryAfterSeconds: seconds },
      message: `Too many session starts from your address (${perMinute} per minute); try again in ${seconds} s`,
    });
  });

  it('too many sessions: retry after 5 s', () => {
    const gate = new ClientGate({ ...limits, maxSessionsPerClient: 1 });
    gate.openSession('a');
    expect(refusal(() => gate.openSession('a'))).toMatchObject({
      code: 'too_many_sessions',
      retryAfterSeconds: 5,
      message: 'Too many sessions from your address (1); end one first',
    });
  });

  it('keeps exactly maxTrackedClients, and a client seen again is the most recent', () => {
    const gate = new ClientGate({ ...limits, connectBurst: 2 }, () => 0, 2);
    gate.request('a');
    gate.request('b');
    gate.request('a'); // a: burst used up, now the most recently seen
    expect(() => gate.request('a')).toThrow(ClientLimitError); // still remembered (2 tracked)
    gate.request('c'); // b, the least recently seen, is forgotten
    expect(() => gate.request('a')).toThrow(ClientLimitError);
    gate.request('b');
    gate.request('b'); // a fresh bucket of 2
  });
});
