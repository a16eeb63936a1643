/**
 * The playground console over LiveKit, in headless Chromium: a server with the LiveKit routes
 * offers the transport, the page loads livekit-client (its own prebuilt script) and joins a room
 * with the agent; the fake microphone's question and the spoken answer show in the transcript, the
 * agent's state drives the status line, room events fill the timeline, the mic level moves, the
 * session id links its transcript, typed text goes as chat and a client event shows. Colloquy's
 * `colloquy.events` data drive the latency waterfall (tools included), the tool lines, the
 * interruption marks and the error banners, as RTVI's messages do over the other transports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { type LaunchedChromium, launchChromium, makeFakeMicWav } from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';
import {
  ANSWER_PART,
  connected,
  lines,
  quietMic,
  refusingLlm,
  SAID,
  texts,
  waitLine,
  withLongGreeting,
} from './playground-page.ts';

const KEYS = { apiKey: 'APItest', apiSecret: 'test-secret-0123456789-0123456789' };

/** Opens the console, picks LiveKit and joins the room. */
async function joinLiveKit(page: LaunchedChromium['page'], url: string): Promise<void> {
  await page.goto(url);
  await until(
    'LiveKit offered',
    async () =>
      (await page.$eval('#transport option[value="livekit"]', (o) => !(o as HTMLOptionElement).disabled)) ||
      undefined,
  );
  await page.selectOption('#transport', 'livekit');
  await page.click('#talk');
  await connected(page);
}

/** The waterfall's rows: each turn's segment names. */
const waterfallRows = (page: LaunchedChromium['page']) =>
  page.$$eval('#waterfall .turn-row', (rows) =>
    rows.map((r) => Array.from(r.querySelectorAll('.seg .name'), (n) => n.textContent)),
  );

describe('playground console: LiveKit', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let routes: LiveKitRoutes | undefined;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    const mic = await makeFakeMicWav({ text: SAID, leadingSilenceMs: 1200, trailingSilenceMs: 30_000 });
    server = await startTestServer({
      edit: withoutGreeting,
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, { keys: KEYS });
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

    // The turn's latency waterfall: recognition, the model, its tool call, speech, the total.
    await waitLine(browser, 'tool line', (l) => l.cls === 'line tool' && l.text.includes('hotel_faq'));
    const rows = await until('waterfall row', async () => {
      const r = await waterfallRows(page);
      return r.length ? r : undefined;
    });
    expect(rows[0]).toEqual(expect.arrayContaining(['STT', 'LLM', 'Tools', 'TTS', 'Total']));

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

describe('playground console: LiveKit interruptions and errors', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let failing: RunningServer;
  let llm: Awaited<ReturnType<typeof refusingLlm>>;
  const routes: LiveKitRoutes[] = [];
  let browser: LaunchedChromium;

  beforeAll(async () => {
    llm = await refusingLlm();
    const register: NonNullable<NonNullable<Parameters<typeof startTestServer>[0]>['registerRoutes']> = (
      app,
      ctx,
    ) => {
      routes.push(registerLiveKitRoutes(app, ctx, { keys: KEYS }));
    };
    [server, failing] = await Promise.all([
      startTestServer({
        edit: withLongGreeting,
        registerRoutes: register,
      }),
      startTestServer({
        edit: withoutGreeting,
        env: { COLLOQUY_LLM: `openai-compatible:broken-model@${llm.url}` },
        registerRoutes: register,
      }),
    ]);
    browser = await launchChromium({ wav: await quietMic(20_000) });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(routes.map((r) => r.closeAll()));
    await Promise.all([server?.close(), failing?.close(), llm?.close()]);
  });

  it('typing during the greeting cuts it off: the greeting is marked interrupted, the answer stands alone', async () => {
    const page = browser.page;
    await joinLiveKit(page, server.url);
    await waitLine(browser, 'greeting', (l) => l.cls.includes('bot') && l.text.includes('concierge'));
    await page.fill('#text', SAID);
    await page.press('#text', 'Enter');
    await waitLine(browser, 'answer', (l) => l.cls.includes('bot') && l.text.includes(ANSWER_PART));
    const bot = (await lines(page)).filter((l) => l.cls.includes('bot'));
    expect(bot[0]!.cls).toContain('interrupted');
    expect(bot[0]!.text).toMatch(/^Bot: Hello!.*interrupted$/);
    expect(bot.at(-1)!.cls).not.toContain('interrupted');
    expect(await texts(page, '.banner.error p')).toEqual([]);
    await page.click('#talk');
    await until('disconnected', async () =>
      (await page.textContent('#talk')) === 'Connect' ? true : undefined,
    );
  });

  it('device choice: the microphone picked before connecting is used, and a switch while connected applies at once (WebSocket and LiveKit)', async () => {
    const page = browser.page;
    // Every microphone track the page opens, by its device id.
    await page.addInitScript(() => {
      const w = window as unknown as { __micDevices: string[] };
      w.__micDevices = [];
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        const stream = await original(constraints);
        for (const t of stream.getAudioTracks()) w.__micDevices.push(t.getSettings().deviceId ?? '');
        return stream;
      };
    });
    const used = () => page.evaluate(() => (window as unknown as { __micDevices: string[] }).__micDevices);
    const option = (label: string) =>
      until(`${label} offered`, async () =>
        page.$$eval(
          '#mic option',
          (os, l) => (os as HTMLOptionElement[]).find((o) => o.textContent === l)?.value,
          label,
        ),
      );
    for (const transport of ['websocket', 'livekit']) {
      await page.goto(server.url);
      await until(`${transport} offered`, async () =>
        (await page.$(`#transport option[value="${transport}"]:not([disabled])`)) ? true : undefined,
      );
      await page.selectOption('#transport', transport);
      const first = await option('Fake Audio Input 1');
      await page.selectOption('#mic', first);
      await page.click('#talk');
      await connected(page);
      await until(`${transport}: picked mic used at connect`, async () =>
        (await used()).includes(first) ? true : undefined,
      );
      const second = await option('Fake Audio Input 2');
      await page.selectOption('#mic', second);
      await until(`${transport}: switched mic used`, async () =>
        (await used()).at(-1) === second ? true : undefined,
      );
      expect(await page.$eval('#mic', (s) => (s as HTMLSelectElement).value)).toBe(second);
      await page.click('#talk');
      await until('disconnected', async () =>
        (await page.textContent('#talk')) === 'Connect' ? true : undefined,
      );
    }
  });

  it('a failing model: one readable banner (not raw JSON), and the session goes on', async () => {
    const page = browser.page;
    await joinLiveKit(page, failing.url);
    await page.fill('#text', SAID);
    await page.press('#text', 'Enter');
    await until(
      'error banner',
      async () => (await texts(page, '.banner.error p')).length || undefined,
      60_000,
    );
    const banners = await texts(page, '.banner.error p');
    expect(banners).toEqual(['The language model failed: llm failed (llm_stream_failed)']);
    expect(llm.requests).toBeGreaterThan(0);
    expect(await page.textContent('#talk')).toBe('Disconnect');
  });
});
