/**
 * The playground console over LiveKit, in headless Chromium: a server with the LiveKit routes
 * offers the transport, the page loads livekit-client (its own prebuilt script) and joins a room
 * with the agent; the fake microphone's question and the spoken answer show in the transcript, the
 * agent's state drives the status line, room events fill the timeline, the mic level moves, the
 * session id links its transcript, typed text goes as chat and a client event shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { type LaunchedChromium, launchChromium, makeFakeMicWav } from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';
import { ANSWER_PART, buildPageOnce, connected, lines, SAID, texts, waitLine } from './playground-page.ts';

describe('playground console: LiveKit', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let routes: LiveKitRoutes | undefined;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    await buildPageOnce();
    const mic = await makeFakeMicWav({ text: SAID, leadingSilenceMs: 2500, trailingSilenceMs: 30_000 });
    server = await startTestServer({
      edit: withoutGreeting,
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APItest', apiSecret: 'test-secret-0123456789-0123456789' },
        });
      },
    });
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await routes?.closeAll();
    await server?.close();
  });

  it('offers LiveKit, joins a room, hears the question and shows the answer, state, events and session', async () => {
    const page = browser.page;
    const loaded: string[] = [];
    page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
    await page.goto(server.url);
    await until(
      'LiveKit offered',
      async () =>
        (await page.$eval('#transport option[value="livekit"]', (o) => !(o as HTMLOptionElement).disabled)) ||
        undefined,
    );
    expect(await page.textContent('#transport option[value="livekit"]')).toBe('LiveKit');
    expect(loaded).not.toContain('/playground/livekit.js'); // only loaded when chosen
    await page.evaluate(() => {
      const w = window as unknown as { __maxMic: number };
      w.__maxMic = 0;
      const meter = document.getElementById('mic-level') as HTMLMeterElement;
      setInterval(() => {
        w.__maxMic = Math.max(w.__maxMic, meter.value);
      }, 50);
    });
    await page.selectOption('#transport', 'livekit');
    await page.click('#talk');
    await connected(page);
    expect(loaded).toContain('/playground/livekit.js');

    const user = await waitLine(browser, 'user line', (l) => l.cls === 'line user');
    expect(user.text).toMatch(/^You: (what time|when) is breakfast$/);
    const bot = await waitLine(
      browser,
      'spoken answer',
      (l) => l.cls.startsWith('line bot') && l.text.includes(ANSWER_PART),
    );
    expect(bot.text).toMatch(/^Bot: /);

    // The session id (the agent's attribute) and the server's session.
    const id = await until('session id', async () => (await page.textContent('#session code')) || undefined);
    expect(id).toMatch(/^lk-[0-9a-f]{16}$/);
    expect(server.context.registry.get(id)).toBeDefined();
    expect(await page.getAttribute('#session a', 'href')).toBe(`/sessions/${id}/transcript`);

    // Room events in the timeline; the microphone level moved.
    const types = await page.$$eval('#timeline li', (els) => els.map((e) => (e as HTMLElement).dataset.type));
    expect(types).toEqual(
      expect.arrayContaining(['connected', 'attributes-changed', 'lk.transcription', 'track-published']),
    );
    expect(await page.evaluate(() => (window as unknown as { __maxMic: number }).__maxMic)).toBeGreaterThan(
      0,
    );

    // Typed text goes as chat; the demo's map answer comes with a client event.
    await page.fill('#text', 'show me the map');
    await page.press('#text', 'Enter');
    await waitLine(browser, 'client event', (l) => l.cls === 'line event' && l.text.includes('custom.'));
    await waitLine(browser, 'map answer', (l) => l.cls.startsWith('line bot') && l.text.includes('map'));
    expect(await page.$$('.banner.error')).toHaveLength(0);

    await page.click('#talk');
    await until('disconnected', async () =>
      (await page.textContent('#talk')) === 'Connect' ? true : undefined,
    );
    expect(await texts(page, '.banner.error p')).toEqual([]);
    expect((await lines(page)).length).toBeGreaterThan(3);
  });
});
