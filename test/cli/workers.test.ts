/**
 * `colloquy start --workers 2` as users run it: a primary on one port, two worker processes on
 * loopback. New sessions go to the least-loaded worker; the one-time token of `/ws`, the SmallWebRTC
 * offer and its ICE candidates (PATCH), and the transcript of a session reach the worker that owns
 * them (the store is in memory, so any other worker would answer 404). `/metrics` shows every
 * worker's series. A worker killed with SIGKILL is restarted: its sessions end, the other worker's
 * go on. SIGTERM to the primary ends every session with `conversation-end` and leaves no process.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePeerConnection } from '../../src/transports/close-peer-connection.ts';
import { type FakeOpenAiChat, startFakeOpenAiChat } from '../e2e/fake-openai-chat.ts';
import { connectRaw, type RawClient, serverMessages, until } from '../e2e/helpers.ts';
import { BIN, cleanEnv, launch, type Running } from './run.ts';

const TOKEN = 'workers-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The worker processes of a primary (Linux /proc): pid by COLLOQUY_WORKER_ID. */
async function workersOf(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      const env = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
      const id = env.find((e) => e.startsWith('COLLOQUY_WORKER_ID='))?.split('=')[1];
      if (id !== undefined) out.set(id, Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** `name{labels} value` of the Prometheus text, by worker. */
function series(text: string, name: string, labels = ''): Map<string, number> {
  const out = new Map<string, number>();
  const pattern = new RegExp(`^${name}\\{worker="([^"]+)"${labels ? `,${labels}` : ''}\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(pattern)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe('colloquy start --workers 2', () => {
  let llm: FakeOpenAiChat;
  let dir: string;
  let run: Running;
  let url: string;
  const clients: RawClient[] = [];
  const peers: Array<{ pc: RTCPeerConnection; chat: RTCDataChannel }> = [];

  beforeAll(async () => {
    llm = await startFakeOpenAiChat((r) => {
      const last = r.messages.filter((m) => m.role === 'user').at(-1)?.content;
      return `Noted: ${typeof last === 'string' ? last : ''}`;
    });
    dir = await mkdtemp(join(tmpdir(), 'colloquy-workers-'));
    // No greeting: the first answer a client hears is to its own text.
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      }),
    );
    run = launch(process.execPath, [BIN, 'start', '--workers', '2'], {
      env: cleanEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        COLLOQUY_STORE: 'memory',
        COLLOQUY_AUTH_TOKEN: TOKEN,
        COLLOQUY_CONFIG: join(dir, 'config.json'),
      }),
    });
    const [, found] = await run.waitFor(/Colloquy listening on (http:\/\/\S+)/, 90_000);
    url = found!;
    await run.waitFor(/workers: 2 processes/);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all(peers.map(({ pc, chat }) => closePeerConnection(pc, [chat])));
    if (run && run.child.exitCode === null) {
      const pids = await workersOf(run.child.pid!);
      run.child.kill('SIGKILL');
      for (const pid of pids.values()) process.kill(pid, 'SIGKILL');
    }
    await llm?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const connect = async () => {
    const c = await connectRaw(url, {}, auth);
    clients.push(c);
    const ready = await c.ready();
    return { c, id: (ready.data.about as { session_id: string }).session_id };
  };
  const spoken = (c: RawClient) => c.messages.filter((m) => m.type === 'bot-stopped-speaking').length;
  /** A turn, waited for until its answer was spoken whole. */
  const say = async (c: RawClient, text: string) => {
    const before = spoken(c);
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await until(`answer to ${text}`, () => (spoken(c) > before ? true : undefined), 30_000);
  };
  const metrics = async () => {
    const res = await fetch(`${url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    return res.text();
  };
  const transcript = async (id: string) => {
    const res = await fetch(`${url}/sessions/${id}/transcript`, { headers: auth });
    return { status: res.status, body: (await res.json()) as { id?: string; transcript?: unknown[] } };
  };

  let sessions: Array<{ c: RawClient; id: string }> = [];

  it('sessions spread over the workers; /ws tokens and transcripts reach the owning worker; /metrics per worker', async () => {
    sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await connect());
    for (const [i, s] of sessions.entries()) await say(s.c, `note ${i}`);
    for (const [i, s] of sessions.entries()) {
      const t = await transcript(s.id);
      expect(t.status).toBe(200);
      expect(t.body.id).toBe(s.id);
      expect(JSON.stringify(t.body.transcript)).toContain(`Noted: note ${i}`);
    }
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    expect(health).toEqual({ status: 'ok', sessions: 4, workers: 2 });
    const text = await metrics();
    expect(series(text, 'colloquy_sessions_live')).toEqual(
      new Map([
        ['0', 2],
        ['1', 2],
      ]),
    );
    expect(series(text, 'colloquy_turns_total', 'outcome="completed"').size).toBe(2);
    expect(series(text, 'colloquy_workers_ready').get('primary')).toBe(2);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
  }, 120_000);

  it('SmallWebRTC: the offer with its one-time token and the ICE candidates (PATCH) reach the worker that owns the peer', async () => {
    for (let i = 0; i < 3; i++) {
      const connectRes = await fetch(`${url}/connect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ transport: 'webrtc' }),
      });
      const { webrtcRequestParams } = (await connectRes.json()) as {
        webrtcRequestParams: { endpoint: string; requestData: Record<string, unknown> };
      };
      const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      peers.push({ pc, chat: pc.createDataChannel('chat', { ordered: true }) });
      const candidates: unknown[] = [];
      pc.onicecandidate = (e) => {
        if (e.candidate)
          candidates.push({
            candidate: e.candidate.candidate,
            sdp_mid: e.candidate.sdpMid,
            sdp_mline_index: e.candidate.sdpMLineIndex,
          });
      };
      await pc.setLocalDescription(await pc.createOffer());
      const offer = await fetch(webrtcRequestParams.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sdp: pc.localDescription!.sdp,
          type: 'offer',
          requestData: webrtcRequestParams.requestData,
        }),
      });
      expect(offer.status).toBe(200);
      const answer = (await offer.json()) as { sdp: string; type: 'answer'; pc_id: string };
      await pc.setRemoteDescription(answer);
      await until('client candidates', () => (candidates.length ? true : undefined));
      const patched = await fetch(webrtcRequestParams.endpoint, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pc_id: answer.pc_id, candidates }),
      });
      expect(patched.status).toBe(200);
    }
    await Promise.all(peers.splice(0).map(({ pc, chat }) => closePeerConnection(pc, [chat])));
  }, 120_000);

  it('a worker killed with SIGKILL is restarted: its sessions end, the other worker’s go on', async () => {
    const before = await workersOf(run.child.pid!);
    expect([...before.keys()].sort()).toEqual(['0', '1']);
    const live = series(await metrics(), 'colloquy_sessions_live');
    expect(live.get('1')).toBeGreaterThan(0);
    process.kill(before.get('1')!, 'SIGKILL');
    // Sessions of worker 1 lose their connection; which ones they are, only the closes tell.
    const closedIds = new Set<string>();
    await until(
      'the killed worker’s clients disconnected',
      () => {
        for (const s of sessions) if (s.c.ws.readyState === s.c.ws.CLOSED) closedIds.add(s.id);
        return closedIds.size === live.get('1') ? true : undefined;
      },
      30_000,
    );
    const survivors = sessions.filter((s) => !closedIds.has(s.id));
    expect(survivors.length).toBe(sessions.length - closedIds.size);
    for (const [i, s] of survivors.entries()) await say(s.c, `still here ${i}`);
    await until(
      'worker 1 restarted',
      async () => {
        const now = await workersOf(run.child.pid!);
        const health = (await (await fetch(`${url}/health`)).json()) as { workers: number };
        return now.get('1') !== undefined && now.get('1') !== before.get('1') && health.workers === 2
          ? true
          : undefined;
      },
      60_000,
    );
    expect(run.stderr()).toMatch(/worker 1 exited \(SIGKILL\) with \d+ live session\(s\); restarting it/);
    // New sessions are placed on the restarted worker too.
    const fresh = [await connect(), await connect()];
    for (const s of fresh) await say(s.c, 'after restart');
    sessions = [...survivors, ...fresh];
  }, 120_000);

  it('SIGTERM to the primary: every session ends with conversation-end, then every process exits', async () => {
    const pids = await workersOf(run.child.pid!);
    run.child.kill('SIGTERM');
    for (const s of sessions) {
      await s.c.closed;
      expect(serverMessages(s.c)).toContainEqual({
        type: 'conversation-end',
        data: { reason: 'server_shutdown' },
      });
    }
    const done = await run.exited;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`SIGTERM: ending ${sessions.length} session(s)`);
    expect(done.stdout).toContain('Colloquy stopped');
    for (const pid of pids.values()) expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});
