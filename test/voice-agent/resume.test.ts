/**
 * Resume on the native WebSocket protocol (`AgentResume`), with real `ws` clients on loopback: a
 * socket gets a `resume_handle`; after a drop mid-conversation, a new socket whose first message is
 * `resume {handle}` gets the same agent back and continues the same conversation; replayed, forged and
 * expired handles are refused with their codes; an agent whose client does not come back in time is
 * destroyed.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventMap } from '../../src/bus/events.ts';
import { silentLogger } from '../../src/logger.ts';
import { AgentResume } from '../../src/surfaces/voice-agent/agent-resume.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { type MessageLog, type Msg, openClient, sleep, startServer, until } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const userTexts = (prompt: unknown) =>
  (prompt as Array<{ role: string; content: Array<{ type: string; text?: string }> }>)
    .filter((m) => m.role === 'user')
    .map((m) => m.content.map((p) => p.text ?? '').join(''));

/**
 * A server whose sockets belong to the user named by `?user=` (standing in for the application's own
 * authentication), each new agent that user's.
 */
async function setup(windowMs = 5000) {
  const resume = new AgentResume({ windowMs });
  const agents: VoiceAgent[] = [];
  const prompts: string[][] = [];
  const server = await startServer((socket, request) => {
    const user = new URL(request.url ?? '/', 'http://x').searchParams.get('user') ?? undefined;
    resume.accept(
      socket,
      () => {
        const model = mockLanguageModel([
          (call) => {
            prompts.push(userTexts(call.prompt));
            return `Noted: ${prompts.at(-1)?.at(-1)}`;
          },
        ]);
        const agent = new VoiceAgent({ model, logger: silentLogger, ...(user ? { userId: user } : {}) });
        agents.push(agent);
        return agent;
      },
      user ? { userId: user } : {},
    );
  });
  cleanups.push(
    () => server.close(),
    () => resume.close(),
  );
  const open = async (user?: string) => {
    const log = await openClient(user ? `${server.url}/?user=${user}` : server.url);
    cleanups.push(() => log.socket.terminate());
    return log;
  };
  return { resume, agents, prompts, open, url: server.url };
}

/**
 * A WebSocket client written by hand on a TCP socket, to put several messages in one TCP write (so
 * the server reads them in one go); it records the server's text messages.
 */
async function rawClient(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  cleanups.push(() => socket.destroy());
  const messages: Msg[] = [];
  let buffer = Buffer.alloc(0);
  let upgraded!: () => void;
  const ready = new Promise<void>((resolve) => {
    upgraded = resolve;
  });
  let open = false;
  socket.on('data', (data) => {
    buffer = Buffer.concat([buffer, data]);
    if (!open) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      expect(buffer.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
      buffer = buffer.subarray(end + 4);
      open = true;
      upgraded();
    }
    // Server frames are not masked; text frames (opcode 1) are recorded, others skipped.
    while (buffer.length >= 2) {
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      const payload = buffer.subarray(offset, offset + length);
      if ((buffer[0]! & 0x0f) === 1) messages.push(JSON.parse(payload.toString()) as Msg);
      buffer = buffer.subarray(offset + length);
    }
  });
  socket.write(
    `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await ready;
  /** A masked text frame (a zero mask: the payload goes as is). */
  const frame = (message: unknown) => {
    const payload = Buffer.from(JSON.stringify(message));
    const header =
      payload.length < 126
        ? Buffer.from([0x81, 0x80 | payload.length])
        : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    return Buffer.concat([header, Buffer.alloc(4), payload]);
  };
  return {
    messages,
    /** Every message in one write. */
    sendTogether: (list: unknown[]) => socket.write(Buffer.concat(list.map(frame))),
    waitFor: async (type: string) => {
      for (let i = 0; i < 2000; i++) {
        const hit = messages.find((m) => m.type === type);
        if (hit) return hit;
        await sleep(2);
      }
      throw new Error(`Timed out waiting for "${type}"; got: ${messages.map((m) => m.type).join(', ')}`);
    },
  };
}

const closed = (log: MessageLog) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    log.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

describe('resume on the native WebSocket protocol', () => {
  it('a dropped client comes back with its handle and continues the same conversation', async () => {
    const { agents, prompts, open } = await setup();
    const first = await open();
    first.send({ type: 'transcript', text: 'My room is 214' });
    const issued = await first.waitFor('resume_handle');
    expect(issued).toEqual({
      type: 'resume_handle',
      sessionId: agents[0]!.session.sessionId,
      handle: expect.stringMatching(/^[\w-]{43}$/),
      expiresAt: expect.any(Number),
    });
    await first.waitFor('response_complete');
    const resumes: Array<EventMap['session.resume']> = [];
    agents[0]!.bus.subscribe('session.resume', (e) => resumes.push(e));
    first.socket.terminate(); // a killed socket
    await until(() => !agents[0]!.connected);

    const second = await open();
    second.send({ type: 'resume', handle: issued.handle });
    expect(await second.waitFor('session_resumed')).toEqual({
      type: 'session_resumed',
      sessionId: agents[0]!.session.sessionId,
    });
    const fresh = await second.waitFor('resume_handle');
    expect(fresh.handle).not.toBe(issued.handle);
    expect(resumes).toEqual([{ sessionId: agents[0]!.session.sessionId, handle: issued.handle }]);
    second.send({ type: 'transcript', text: 'Which room did I say?' });
    await second.waitFor('response_complete');
    expect(agents).toHaveLength(1); // no new agent
    expect(prompts.at(-1)).toEqual(['My room is 214', 'Which room did I say?']);

    // The spent handle again, and a forged one: refused with their codes, the socket closes.
    for (const [handle, code] of [
      [issued.handle, 'resume_used'],
      ['x'.repeat(43), 'resume_unknown'],
    ] as const) {
      const other = await open();
      const gone = closed(other);
      other.send({ type: 'resume', handle });
      expect(await other.waitFor('error')).toMatchObject({ code, messageType: 'resume' });
      expect(await gone).toEqual({ code: 1008, reason: code });
    }
    expect(agents[0]!.connected).toBe(true);
    // `resume` later on an attached socket is refused; the socket goes on.
    second.send({ type: 'resume', handle: fresh.handle });
    expect(await second.waitFor('error')).toMatchObject({
      code: 'unsupported_message',
      messageType: 'resume',
    });
  });

  it('an agent resumed before its client said anything starts its session at the first input, not at the resume', async () => {
    const { agents, open } = await setup();
    const first = await open();
    first.send({ type: 'client_ready', capabilities: {} });
    const issued = await first.waitFor('resume_handle');
    await first.waitFor('session_init');
    const starts: string[] = [];
    agents[0]!.bus.subscribe('session.start', (e) => starts.push(e.sessionId));
    first.socket.terminate();
    await until(() => !agents[0]!.connected);
    const second = await open();
    second.send({ type: 'resume', handle: issued.handle });
    await second.waitFor('resume_handle');
    expect(agents[0]!.session.state).toBe('created');
    expect(starts).toEqual([]);
    second.send({ type: 'transcript', text: 'Hello' });
    await second.waitFor('response_complete');
    expect(starts).toEqual([agents[0]!.session.sessionId]);
  });

  it("another user's handle is refused (resume_foreign) and stays good for its owner", async () => {
    const { agents, prompts, open } = await setup();
    const ana = await open('ana');
    ana.send({ type: 'transcript', text: 'My room is 214' });
    const { handle } = await ana.waitFor('resume_handle');
    await ana.waitFor('response_complete');
    expect(agents[0]!.session.userId).toBe('ana');
    ana.socket.terminate();
    await until(() => !agents[0]!.connected);

    const bob = await open('bob');
    const gone = closed(bob);
    bob.send({ type: 'resume', handle });
    expect(await bob.waitFor('error')).toMatchObject({ code: 'resume_foreign', messageType: 'resume' });
    expect(await gone).toEqual({ code: 1008, reason: 'resume_foreign' });
    expect(bob.types()).not.toContain('session_resumed');
    expect(agents[0]!.connected).toBe(false);

    const back = await open('ana');
    back.send({ type: 'resume', handle });
    await back.waitFor('session_resumed');
    back.send({ type: 'transcript', text: 'Which room did I say?' });
    await back.waitFor('response_complete');
    expect(agents).toHaveLength(1);
    expect(prompts.at(-1)).toEqual(['My room is 214', 'Which room did I say?']);
  });

  it('two clients racing for one handle: exactly one gets the agent, the other is told resume_used', async () => {
    const { agents, prompts, open } = await setup();
    const first = await open('ana');
    first.send({ type: 'transcript', text: 'My room is 214' });
    const { handle } = await first.waitFor('resume_handle');
    await first.waitFor('response_complete');
    first.socket.terminate();
    await until(() => !agents[0]!.connected);

    const racers = [await open('ana'), await open('ana')];
    const ends = racers.map(closed);
    for (const r of racers) r.send({ type: 'resume', handle });
    const outcome = (r: MessageLog) =>
      r.messages.find(
        (m) => m.type === 'session_resumed' || (m.type === 'error' && m.messageType === 'resume'),
      );
    await until(() => racers.every((r) => outcome(r) !== undefined));
    const winners = racers.filter((r) => outcome(r)!.type === 'session_resumed');
    const losers = racers.filter((r) => outcome(r)!.type === 'error');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(outcome(losers[0]!)).toMatchObject({
      code: 'resume_used',
      error: expect.stringMatching(/already used/),
    });
    expect(await ends[racers.indexOf(losers[0]!)]).toEqual({ code: 1008, reason: 'resume_used' });
    expect(losers[0]!.types()).not.toContain('resume_handle');

    // The winner has the conversation.
    winners[0]!.send({ type: 'transcript', text: 'Which room did I say?' });
    await winners[0]!.waitFor('response_complete');
    expect(agents).toHaveLength(1);
    expect(prompts.at(-1)).toEqual(['My room is 214', 'Which room did I say?']);
  });

  it('a message right behind resume, read in the same packet, is served by the resumed agent', async () => {
    const { agents, prompts, open, url } = await setup();
    const first = await open();
    first.send({ type: 'transcript', text: 'My room is 214' });
    const { handle } = await first.waitFor('resume_handle');
    await first.waitFor('response_complete');
    first.socket.terminate();
    await until(() => !agents[0]!.connected);

    const back = await rawClient(url);
    back.sendTogether([
      { type: 'resume', handle },
      { type: 'transcript', text: 'Which room did I say?' },
    ]);
    await back.waitFor('response_complete');
    expect(back.messages.map((m) => m.type).slice(0, 2)).toEqual(['session_resumed', 'resume_handle']);
    expect(agents).toHaveLength(1);
    expect(prompts.at(-1)).toEqual(['My room is 214', 'Which room did I say?']);
  });

  it('a client that drops again soon after coming back gets a whole window again', async () => {
    // The window's timers on a fake clock that also runs with real time (sockets and polling go on);
    // the test moves it by whole seconds, so the machine's speed decides nothing.
    const { agents, open, resume } = await setup(60_000);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true });
    cleanups.push(() => vi.useRealTimers());
    const first = await open();
    first.send({ type: 'client_ready' });
    const { handle } = await first.waitFor('resume_handle');
    first.socket.terminate();
    await until(() => !agents[0]!.connected);
    vi.advanceTimersByTime(40_000); // two thirds of the first window

    const second = await open();
    second.send({ type: 'resume', handle });
    await second.waitFor('session_resumed');
    const fresh = await second.waitFor('resume_handle');
    second.socket.terminate();
    await until(() => !agents[0]!.connected);
    // Past the end of the first window, inside the second: the first window's timer was cancelled
    // when the client came back, so the agent still waits.
    vi.advanceTimersByTime(40_000);
    expect(agents[0]!.destroyed).toBe(false);
    expect(resume.size).toBe(1);

    const third = await open();
    third.send({ type: 'resume', handle: fresh.handle });
    expect(await third.waitFor('session_resumed')).toEqual({
      type: 'session_resumed',
      sessionId: agents[0]!.session.sessionId,
    });
    // And a client that then stays away for a whole window is not waited for longer.
    third.socket.terminate();
    await until(() => !agents[0]!.connected);
    vi.advanceTimersByTime(60_000);
    await until(() => agents[0]!.destroyed);
    expect(resume.size).toBe(0);
    expect(agents).toHaveLength(1);
  });

  it('a client that does not come back in time: the agent is destroyed, its handle is gone', async () => {
    const { agents, open, resume } = await setup(150);
    const first = await open();
    first.send({ type: 'client_ready' });
    const { handle } = await first.waitFor('resume_handle');
    first.socket.terminate();
    await until(() => agents[0]!.destroyed, 3000);
    expect(resume.size).toBe(0);
    const late = await open();
    late.send({ type: 'resume', handle });
    expect(await late.waitFor('error')).toMatchObject({ code: 'resume_gone' });
  });
});
