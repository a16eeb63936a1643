/**
 * End to end over LiveKit signalling: the real, unmodified `livekit-client` (bundled for the page)
 * in headless Chromium connects straight to a Colloquy server with the details
 * `POST /livekit/connection-details` returns (from a page on another origin: CORS), hears the agent,
 * speaks through a fake microphone ("what time is breakfast"), sees the agent's state, its
 * transcripts and a `client_event` data packet, runs the client-event page snippet, survives a
 * dropped signalling socket and leaves.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR } from '../../src/server/config.ts';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { bundleEntry, type StaticServer, servePage } from '../browser/bundle.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import type { ConnectionDetails, LkEvent } from '../browser/livekit-page/main.ts';
import type { RemoteAudioStats } from '../browser/page/types.ts';
import { BREAKFAST_QUESTION, startTestServer, until } from './helpers.ts';

const PAGE = join(fileURLToPath(new URL('.', import.meta.url)), '../browser/livekit-page/main.ts');
const SAID = 'what time is breakfast';
const ANSWER = 'Breakfast is served from seven to ten in the garden room.';

const FILE = {
  greeting: 'Hello.',
  models: { llm: 'scripted:script.json' },
  agents: [{ name: 'concierge', instructions: 'Answer briefly.' }],
  tools: [
    {
      name: 'hotel_faq',
      kind: 'kb',
      description: 'Hotel facts',
      config: { documents: [{ id: 'breakfast', title: 'Breakfast', text: ANSWER }], top_k: 1 },
    },
    {
      name: 'open_pricing_page',
      kind: 'client_event',
      description: 'Navigate the user to the pricing page.',
      input_schema: { type: 'object', properties: { highlight_plan: { type: 'string' } }, required: [] },
      config: { topic: 'custom.open_pricing' },
    },
  ],
};
const SCRIPT = {
  rules: [
    {
      when: 'breakfast',
      call: { name: 'hotel_faq', args: { query: 'breakfast' } },
      say: '{{result.results.0.text}}',
    },
    {
      when: 'pricing',
      call: { name: 'open_pricing_page', args: { highlight_plan: 'pro' } },
      say: 'Here are our plans.',
    },
  ],
  fallback: 'Sorry.',
};

describe('livekit-client against the Colloquy server (browser, offline models)', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  let site: StaticServer;
  let browser: LaunchedChromium;
  let details: ConnectionDetails;

  const events = () => browser.page.evaluate(() => window.__lk.events) as Promise<LkEvent[]>;
  const data = async (name: string) => (await events()).filter((e) => e.name === name).map((e) => e.data);
  const waitFor = (name: string, pred: (d: any) => boolean = () => true, timeoutMs = 30_000) =>
    until(
      name,
      async () => {
        const found = (await data(name)).filter(pred);
        return found.length ? found : undefined;
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- page log ---\n${browser.logs.slice(-40).join('\n')}`);
    });
  const remoteAudio = () =>
    browser.page.evaluate(() => window.__lk.remoteAudio()) as Promise<RemoteAudioStats>;

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: SAID, leadingSilenceMs: 2000, trailingSilenceMs: 3000 }),
      bundleEntry(PAGE, 'colloquy-livekit-page'),
    ]);
    server = await startTestServer({
      file: FILE,
      files: { 'script.json': SCRIPT },
      env: { COLLOQUY_STT: `pocketsphinx:${join(DEMO_DIR, 'demo.jsgf')}` },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APItest', apiSecret: 'test-secret-0123456789-0123456789' },
          room: { resumeWindowMs: 15_000 },
        });
      },
    });
    site = await servePage(bundle, { anyPath: true });
    browser = await launchChromium({ wav: mic.path });
    await browser.page.goto(site.origin);
  }, 60_000);

  afterAll(async () => {
    await browser?.page.evaluate(() => window.__lk?.disconnect()).catch(() => {});
    await browser?.close();
    await routes?.closeAll();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('gets connection details from another origin and joins: the agent is an AGENT with a mic track', async () => {
    details = await browser.page.evaluate(
      (url) => window.__lk.fetchDetails(url, {}),
      `${server.url}/livekit/connection-details`,
    );
    expect(details).toMatchObject({
      serverUrl: server.url.replace(/^http/, 'ws'),
      roomName: expect.stringMatching(/^colloquy-/),
      participantName: 'user',
      participantToken: expect.any(String),
    });
    const result = await browser.page.evaluate((d) => window.__lk.connect(d), details);
    expect(result, browser.logs.join('\n')).toEqual({ ok: true });
    const [agent] = await data('remoteParticipant');
    expect(agent).toMatchObject({
      identity: 'concierge',
      kind: 4, // ParticipantKind.AGENT
      isAgent: true,
      tracks: [{ source: 'microphone', kind: 'audio' }],
    });
    expect(routes.size).toBe(1);
    expect(routes.room(details.roomName)?.roomState).toBe('connected');
  });

  it('plays the agent (greeting) on the subscribed track: measured audio level', async () => {
    const [sub] = await waitFor('trackSubscribed');
    expect(sub).toMatchObject({ kind: 'audio', source: 'microphone', identity: 'concierge' });
    const stats = await until(
      'audible agent audio',
      async () => {
        const s = await remoteAudio();
        return s.nonSilentSamples > 4000 ? s : undefined;
      },
      20_000,
    );
    expect(stats.tracks).toBe(1);
    expect(stats.peak).toBeGreaterThan(0.05);
  });

  it('publishes the mic; the user is heard: final transcript stream from the user on the mic track', async () => {
    const [published] = await waitFor('localTrackPublished');
    expect(published).toMatchObject({ source: 'microphone', kind: 'audio' });
    const [final] = await waitFor(
      'transcription',
      (d) => d.attributes['lk.transcription_final'] === 'true' && d.identity !== 'concierge',
      40_000,
    );
    const identity = await browser.page.evaluate(() => window.__lk.room!.localParticipant.identity);
    expect(final).toMatchObject({
      identity,
      text: expect.stringMatching(BREAKFAST_QUESTION),
      topic: 'lk.transcription',
      attributes: { 'lk.transcribed_track_id': published.sid },
    });
  });

  it('the agent answers: state thinking → speaking → listening, and its transcript stream', async () => {
    const [answer] = await waitFor(
      'transcription',
      (d) => d.identity === 'concierge' && d.text.includes('garden room'),
      40_000,
    );
    expect(answer.text).toBe(ANSWER);
    expect(answer.attributes['lk.transcribed_track_id']).toMatch(/^TR_/);
    await waitFor('attributesChanged', (d) => d.attributes['lk.agent.state'] === 'listening' && d.changed);
    const states = (await data('attributesChanged')).map((d) => d.attributes['lk.agent.state']);
    // The greeting: speaking then listening; the question: thinking, speaking, listening.
    expect(states.slice(states.indexOf('thinking'))).toEqual(['thinking', 'speaking', 'listening']);
  });

  it('a client_event tool reaches the page as a reliable data packet: raw args, agent sender, its topic', async () => {
    await browser.page.evaluate(() => window.__lk.sendChat('show me the pricing'));
    const [packet] = await waitFor('data', (d) => d.topic === 'custom.open_pricing');
    expect(packet).toEqual({
      text: JSON.stringify({ highlight_plan: 'pro' }),
      identity: 'concierge',
      kind: 0, // DataPacket_Kind.RELIABLE
      topic: 'custom.open_pricing',
    });
  });

  it("application code publishes its own data to the page: the session's projection.publishData, topic and kind kept", async () => {
    const projection = routes.session(details.roomName)!.projection;
    expect(projection.publishData(JSON.stringify({ banner: 'sale' }), { topic: 'app.banner' })).toBe(true);
    // Lossy packets may be dropped by design: five go out, one arriving is enough.
    for (let i = 0; i < 5; i++) {
      expect(
        projection.publishData(new TextEncoder().encode('tick'), { topic: 'app.ticks', reliable: false }),
      ).toBe(true);
    }
    const [banner] = await waitFor('data', (d) => d.topic === 'app.banner');
    expect(banner).toEqual({
      text: '{"banner":"sale"}',
      identity: 'concierge',
      kind: 0,
      topic: 'app.banner',
    });
    // A lossy packet arrives as LOSSY (kind 1).
    const [tick] = await waitFor('data', (d) => d.topic === 'app.ticks');
    expect(tick).toEqual({ text: 'tick', identity: 'concierge', kind: 1, topic: 'app.ticks' });
  });

  it('survives a dropped signalling socket: the client resumes, the same session goes on', async () => {
    const session = routes.session(details.roomName)!;
    const resumes: unknown[] = [];
    session.session.eventBus.subscribe('session.resume', (e) => resumes.push(e));
    expect(await browser.page.evaluate(() => window.__lk.dropSignal())).toBe(true);
    await waitFor('reconnected', () => true, 20_000);
    expect(routes.session(details.roomName)).toBe(session);
    // LiveKit's reconnect maps onto the session's resume.
    expect(resumes).toEqual([{ sessionId: session.id, handle: expect.stringMatching(/^PA_/) }]);
    expect(routes.room(details.roomName)?.roomState).toBe('connected');
    // Still talking: a chat turn after the resume is answered with a data packet.
    await browser.page.evaluate(() => window.__lk.sendChat('pricing again please'));
    await until('second packet', async () => {
      const packets = (await data('data')).filter((d) => d.topic === 'custom.open_pricing');
      return packets.length >= 2 ? packets : undefined;
    });
  });

  it('falls back to a full rejoin: a new peer connection, the same session goes on', {
    timeout: 90_000,
  }, async () => {
    const session = routes.session(details.roomName)!;
    const reconnects = (await data('reconnected')).length;
    const packets = (await data('data')).filter((d) => d.topic === 'custom.open_pricing').length;
    await browser.page.evaluate(() => window.__lk.simulate('full-reconnect'));
    await until(
      'reconnected after the full rejoin',
      async () => ((await data('reconnected')).length > reconnects ? true : undefined),
      30_000,
    );
    expect(routes.session(details.roomName)).toBe(session);
    expect(routes.size).toBe(1);
    await until('media again', async () =>
      routes.room(details.roomName)?.roomState === 'connected' ? true : undefined,
    );
    // The rejoined microphone is heard again (Chromium restarts the fake capture for the new track)…
    const heard = (await data('transcription')).filter((d) => d.identity !== 'concierge').length;
    await until(
      'the user heard after the rejoin',
      async () => {
        const now = (await data('transcription')).filter((d) => d.identity !== 'concierge');
        return now.length > heard ? now : undefined;
      },
      40_000,
    );
    // … and a chat turn is answered with a data packet on the new peer connection.
    await browser.page.evaluate(() => window.__lk.sendChat('the pricing page once more'));
    await until('a packet after the rejoin', async () => {
      const all = (await data('data')).filter((d) => d.topic === 'custom.open_pricing');
      return all.length > packets ? all : undefined;
    });
  });

  it('runs the client-event page snippet as written: it navigates to /pricing?plan=pro', async () => {
    await browser.page.evaluate(() => window.__lk.installSeedSnippet());
    const session = routes.session(details.roomName)!;
    await browser.page.evaluate(() => window.__lk.sendChat('open the pricing page'));
    await browser.page.waitForURL(`${site.origin}/pricing?plan=pro`, { timeout: 20_000 });
    // Navigating away sends `leave`: the session ends normally, its transcript is kept.
    expect(await session.closed).toBe('client_disconnected');
    expect(routes.size).toBe(0);
    const record = server.context.registry.get(session.id);
    expect(record?.closeReason).toBe('client_disconnected');
    expect(JSON.stringify(record?.transcript)).toContain('garden room');
  });
});
