/**
 * `AgentResume.accept` before any agent serves the socket, on a fake socket and a fake clock: the
 * first-message timer (its bound, its release), what decides "resume" or "new session", the refusal
 * of a handle, and what is held behind a `resume` while the store is still being read (its bounds,
 * by count and by bytes, whatever shape `ws` gives the data in). No agent is made in any of these.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../../logger.ts';
import { InMemorySessionStore } from '../../store/memory-store.ts';
import type { SessionStore } from '../../store/types.ts';
import { AgentResume, type AgentResumeOptions } from './agent-resume.ts';

/** What `accept` uses of a `ws` socket: events, `send`, `close` and `readyState`. */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  readonly sent: unknown[] = [];
  readonly closes: Array<[number, string]> = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
    this.readyState = WebSocket.CLOSING;
  }
  /** A text message from the client, as `ws` emits it. */
  text(message: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify(message)), false);
  }
}

const made: unknown[] = [];
/** `create` for these tests: no agent can be made (a new session is refused with this reason). */
const create = (restored?: unknown): never => {
  made.push(restored);
  throw new Error('no agent here');
};

let resume: AgentResume | undefined;
function accept(options: AgentResumeOptions = {}, userId?: string) {
  resume = new AgentResume({ logger: silentLogger, ...options });
  const socket = new FakeSocket();
  resume.accept(socket as unknown as WebSocket, create, userId === undefined ? {} : { userId });
  return socket;
}

/** A store whose stored sessions are read only once `read()` is called. */
function slowStore(): { store: SessionStore; read: () => void } {
  const inner = new InMemorySessionStore();
  let read!: () => void;
  const gate = new Promise<void>((r) => (read = r));
  const store = new Proxy(inner, {
    get: (target, key) =>
      key === 'listSnapshots'
        ? async (now: number) => {
            await gate;
            return target.listSnapshots(now);
          }
        : Reflect.get(target, key, target),
  });
  return { store, read };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  made.length = 0;
});
afterEach(async () => {
  vi.useRealTimers();
  await resume?.close();
  resume = undefined;
});

const UNKNOWN = {
  type: 'error',
  error: 'Unknown resume handle',
  code: 'resume_unknown',
  messageType: 'resume',
};

describe('AgentResume.accept: the first message', () => {
  it('a socket that sends nothing is closed 1008 "no first message" after firstMessageTimeoutMs (default 10 s)', () => {
    for (const [options, bound] of [
      [{}, 10_000],
      [{ firstMessageTimeoutMs: 250 }, 250],
    ] as const) {
      const socket = accept(options);
      vi.advanceTimersByTime(bound - 1);
      expect(socket.closes, `${bound} ms`).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(socket.closes, `${bound} ms`).toEqual([[1008, 'no first message']]);
      expect(socket.sent).toEqual([]);
    }
  });

  it('a socket that closes before its first message releases the timer and its listeners', () => {
    const socket = accept({ firstMessageTimeoutMs: 100 });
    expect(vi.getTimerCount()).toBe(1);
    socket.readyState = WebSocket.CLOSED;
    socket.emit('close', 1006, Buffer.alloc(0));
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(socket.closes).toEqual([]);
    expect(socket.listenerCount('close')).toBe(0);
  });

  it('the first message stops the timer and releases the close listener', () => {
    const socket = accept({ firstMessageTimeoutMs: 100 });
    socket.text({ type: 'client_ready' });
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.listenerCount('close')).toBe(0);
    expect(socket.listenerCount('message')).toBe(0);
    vi.advanceTimersByTime(1000);
    // create() failed: told why, closed 1011; never "no first message".
    expect(socket.sent).toEqual([{ type: 'error', error: 'Cannot start the session: no agent here' }]);
    expect(socket.closes).toEqual([[1011, 'session failed']]);
    expect(made).toEqual([undefined]);
  });

  it('a resume message resumes; a binary frame or another message starts a new session', () => {
    const resumeBytes = Buffer.from(JSON.stringify({ type: 'resume', handle: 'h' }));
    const cases: Array<[string, (s: FakeSocket) => void, 'resume' | 'new']> = [
      ['resume as text', (s) => s.text({ type: 'resume', handle: 'h' }), 'resume'],
      [
        'resume in fragments',
        (s) => s.emit('message', [resumeBytes.subarray(0, 9), resumeBytes.subarray(9)], false),
        'resume',
      ],
      ['resume as a binary frame', (s) => s.emit('message', resumeBytes, true), 'new'],
      ['a transcript', (s) => s.text({ type: 'transcript', text: 'resume' }), 'new'],
      ['not JSON', (s) => s.emit('message', Buffer.from('resume'), false), 'new'],
    ];
    for (const [name, send, outcome] of cases) {
      made.length = 0;
      const socket = accept();
      send(socket);
      if (outcome === 'resume') {
        expect(socket.sent, name).toEqual([UNKNOWN]);
        expect(socket.closes, name).toEqual([[1008, 'resume_unknown']]);
        expect(made, name).toEqual([]);
      } else {
        expect(socket.closes, name).toEqual([[1011, 'session failed']]);
        expect(made, name).toEqual([undefined]);
      }
    }
  });

  it('a resume on a socket already closing is not answered', () => {
    const socket = accept();
    socket.readyState = WebSocket.CLOSING;
    socket.text({ type: 'resume', handle: 'h' });
    expect([socket.sent, socket.closes, made]).toEqual([[], [], []]);
  });

  it('after close(), a new socket is closed 1012 at once and nothing listens on it', async () => {
    resume = new AgentResume({ logger: silentLogger });
    await resume.close();
    const socket = new FakeSocket();
    resume.accept(socket as unknown as WebSocket, create);
    expect(socket.closes).toEqual([[1012, 'server restarting']]);
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.eventNames()).toEqual([]);
  });
});

describe('AgentResume.accept: sockets still waiting when close() comes', () => {
  it('a first message after close() is closed 1012 "server restarting": no agent, no resume', async () => {
    for (const first of [{ type: 'client_ready' }, { type: 'resume', handle: 'h' }]) {
      made.length = 0;
      const socket = accept();
      await resume!.close();
      socket.text(first);
      expect(socket.closes, first.type).toEqual([[1012, 'server restarting']]);
      expect(socket.sent, first.type).toEqual([]);
      expect(made, first.type).toEqual([]);
    }
  });

  it('a resume held while the store is read, when close() came meanwhile, is closed 1012', async () => {
    const { store, read } = slowStore();
    const socket = accept({ store });
    socket.text({ type: 'resume', handle: 'h' });
    const closing = resume!.close();
    read();
    await resume!.ready;
    await closing;
    expect(socket.closes).toEqual([[1012, 'server restarting']]);
    expect(socket.sent).toEqual([]);
  });
});

describe('AgentResume.accept: a resume while the store is being read', () => {
  it('is answered once the store is read; nothing listens for held messages after', async () => {
    const { store, read } = slowStore();
    const socket = accept({ store });
    socket.text({ type: 'resume', handle: 'h' });
    socket.text({ type: 'transcript', text: 'held' });
    expect(socket.sent).toEqual([]);
    expect(socket.listenerCount('message')).toBe(1);
    read();
    expect(await resume!.ready).toBe(0);
    expect(socket.sent).toEqual([UNKNOWN]);
    expect(socket.closes).toEqual([[1008, 'resume_unknown']]);
    expect(socket.listenerCount('message')).toBe(0);
    expect(made).toEqual([]);
  });

  it('holds at most 64 messages: the 65th closes the socket 1008 and stops the holding', async () => {
    const { store, read } = slowStore();
    const socket = accept({ store });
    socket.text({ type: 'resume', handle: 'h' });
    for (let i = 0; i < 64; i++) socket.text({ type: 'transcript', text: `${i}` });
    expect(socket.closes).toEqual([]);
    socket.text({ type: 'transcript', text: '64' });
    expect(socket.closes).toEqual([[1008, 'too much sent before resume']]);
    expect(socket.listenerCount('message')).toBe(0);
    read();
    await resume!.ready;
    // The socket is closing: the resume is not answered.
    expect(socket.sent).toEqual([]);
  });

  it('holds at most 1 MiB, counted in every shape ws gives data in', async () => {
    const MiB = 1 << 20;
    const cases: Array<[string, (n: number) => unknown]> = [
      ['Buffer', (n) => Buffer.alloc(n)],
      ['ArrayBuffer', (n) => new ArrayBuffer(n)],
      ['fragments', (n) => [Buffer.alloc(n - Math.floor(n / 2)), Buffer.alloc(Math.floor(n / 2))]],
    ];
    for (const [shape, data] of cases) {
      for (const [bytes, closes] of [
        [MiB, []],
        [MiB + 1, [[1008, 'too much sent before resume']]],
      ] as const) {
        const { store, read } = slowStore();
        const socket = accept({ store });
        socket.text({ type: 'resume', handle: 'h' });
        socket.emit('message', data(bytes - 100), true);
        socket.emit('message', data(100), true);
        expect(socket.closes, `${shape} ${bytes}`).toEqual(closes);
        read();
        await resume!.ready;
        await resume!.close();
      }
    }
  });
});
