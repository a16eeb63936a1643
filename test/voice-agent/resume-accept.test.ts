/**
 * How `AgentResume.accept` turns sockets away: after `close()` every new socket is closed 1012
 * 'server restarting' (no agent is made); a socket that sends nothing is closed 1008 'no first
 * message'; an agent that cannot be made is an `error` message, then 1011 'session failed'.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { AgentResume } from '../../src/surfaces/voice-agent/agent-resume.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { closedWith, openClient, startServer } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(resume: AgentResume, create: () => VoiceAgent) {
  const server = await startServer((socket) => resume.accept(socket, create));
  cleanups.push(
    () => server.close(),
    () => resume.close(),
  );
  const open = async () => {
    const log = await openClient(server.url);
    cleanups.push(() => log.socket.terminate());
    return log;
  };
  return { open };
}

describe('AgentResume.accept refusals', () => {
  it('after close(): a new socket is closed 1012 "server restarting", no agent is made', async () => {
    const resume = new AgentResume();
    let made = 0;
    const { open } = await setup(resume, () => {
      made++;
      return new VoiceAgent({ model: mockLanguageModel(['Hi.']), logger: silentLogger });
    });
    await resume.close();
    const log = await open();
    expect(await closedWith(log)).toEqual([1012, 'server restarting']);
    expect(log.messages).toEqual([]);
    expect(made).toBe(0);
    expect(resume.size).toBe(0);
  });

  it('a socket that sends no first message is closed 1008 "no first message"', async () => {
    const resume = new AgentResume({ firstMessageTimeoutMs: 20 });
    const { open } = await setup(
      resume,
      () => new VoiceAgent({ model: mockLanguageModel(['Hi.']), logger: silentLogger }),
    );
    const log = await open();
    expect(await closedWith(log)).toEqual([1008, 'no first message']);
    expect(log.messages).toEqual([]);
    expect(resume.size).toBe(0);
  });

  it('create() throws: the client gets the reason, then 1011 "session failed"', async () => {
    const resume = new AgentResume();
    const { open } = await setup(resume, () => {
      throw new Error('no model today');
    });
    const log = await open();
    const closed = closedWith(log);
    log.send({ type: 'client_ready' });
    expect(await closed).toEqual([1011, 'session failed']);
    expect(log.messages).toEqual([{ type: 'error', error: 'Cannot start the session: no model today' }]);
    expect(resume.size).toBe(0);
  });
});
