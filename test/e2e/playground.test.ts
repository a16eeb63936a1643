/**
 * The playground console at `/`, in headless Chromium with the real Pipecat client, against the
 * real server and the offline demo models. The fake microphone asks "what time is breakfast"; the
 * page must show the interim and final transcript, the answer and its tool call, the RTVI timeline,
 * a latency waterfall row with numbers, the session id and its stored transcript, mute, readable
 * error banners, and lay out at desktop and phone widths. The page is built before the server
 * starts (as `npm run build` does) and served from dist without bundling on request.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAYGROUND_DIR } from '../../src/server/playground/assets.ts';
import type { RtviSession } from '../../src/server/rtvi-session.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { type LaunchedChromium, launchChromium, makeFakeMicWav } from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';
import { ANSWER_PART, captureSessions, lines, SAID, texts, waitLine } from './playground-page.ts';

describe('playground console: serving', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ edit: withoutGreeting });
  });
  afterAll(() => server?.close());

  it('serves the page and the script prebuilt by the build, byte for byte (nothing is bundled on request)', async () => {
    const script = await fetch(`${server.url}/playground/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).toBe(readFileSync(join(PLAYGROUND_DIR, 'app.js'), 'utf8'));
    const html = await fetch(server.url);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toBe(readFileSync(join(PLAYGROUND_DIR, 'index.html'), 'utf8'));
  });

  it('never bundles at run time: no server or CLI module imports esbuild', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (
          /\.ts$/.test(name) &&
          !name.endsWith('.test.ts') &&
          /['"]esbuild['"]/.test(readFileSync(path, 'utf8'))
        )
          offenders.push(path);
      }
    };
    walk(join(import.meta.dirname, '../../src'));
    expect(offenders).toEqual([]);
  });

  it('tells the page which transports the server offers and the phrases the demo understands', async () => {
    const info = await (await fetch(`${server.url}/playground/info.json`)).json();
    expect(info.transports).toEqual({ websocket: true, webrtc: false, livekit: false });
    expect(info.phrases).toContain(SAID);
    expect(info.auth).toBe(false);
  });
});

describe('playground console: a spoken turn over the Pipecat WebSocket', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let browser: LaunchedChromium;
  let sessions: RtviSession[];

  beforeAll(async () => {
    const mic = await makeFakeMicWav({
      text: SAID,
      wordsPerMinute: 130,
      leadingSilenceMs: 800,
      trailingSilenceMs: 2500,
    });
    server = await startTestServer({ edit: withoutGreeting });
    // What a streaming STT publishes while the user still speaks (the offline recogniser has no
    // interims), subscribed as the session is created so the user's first words cannot come first.
    sessions = captureSessions(server, (s) =>
      s.session.eventBus.subscribe('user.speech.start', () =>
        s.session.eventBus.publish('transcription.interim', {
          sessionId: s.id,
          text: 'what time',
          at: Date.now(),
        }),
      ),
    );
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('connects, shows interim then final text, the answer, the tool call, events, latency and the session', async () => {
    const page = browser.page;
    await page.goto(server.url);
    expect(await page.title()).toBe('Colloquy console');
    await until('hints', async () => (await texts(page, '#hints li')).length > 0 || undefined);
    expect(await texts(page, '#hints li')).toContain(SAID);

    await page.evaluate(() => {
      const meter = document.getElementById('mic-level') as HTMLMeterElement;
      const w = window as unknown as { __maxMic: number };
      w.__maxMic = 0;
      setInterval(() => {
        w.__maxMic = Math.max(w.__maxMic, meter.value);
      }, 50);
    });
    await page.click('#talk');
    await until('session id', async () => (await page.textContent('#session code')) || undefined, 60_000);
    const session = sessions[0];
    expect(await page.textContent('#session code')).toBe(session.id);
    const interim = await waitLine(browser, 'interim line', (l) => l.cls.includes('interim'));
    expect(interim.text).toBe('You: what time');

    await waitLine(browser, 'bot answer', (l) => l.cls.includes('bot') && l.text.includes(ANSWER_PART));
    const all = await lines(page);
    const users = all.filter((l) => l.cls.includes('user'));
    expect(users).toHaveLength(1); // the interim line became the final one, in place
    expect(users[0].cls).toBe('line user');
    expect(users[0].text).toContain('breakfast');
    expect(all.some((l) => l.cls.includes('tool') && l.text.startsWith('Tool: hotel_faq('))).toBe(true);
    expect(await page.$$('.banner.error')).toHaveLength(0);
    // The meter moved while the fake microphone spoke.
    expect(await page.evaluate(() => (window as unknown as { __maxMic: number }).__maxMic)).toBeGreaterThan(
      20,
    );

    // The timeline: messages in both directions, filterable.
    const types = () => page.$$eval('#timeline li', (els) => els.map((e) => (e as HTMLElement).dataset.type));
    await until(
      'metrics in the timeline',
      async () => (await types()).includes('metrics') || undefined,
      60_000,
    );
    const seen = await types();
    for (const t of [
      'client-ready',
      'bot-ready',
      'user-started-speaking',
      'user-transcription',
      'bot-llm-started',
    ])
      expect(seen).toContain(t);
    expect(await page.$eval('#timeline li[data-type="client-ready"]', (e) => e.className)).toContain('out');
    const shown = () =>
      page.$$eval('#timeline li', (els) =>
        els
          .filter((e) => (e as HTMLElement).offsetParent !== null)
          .map((e) => (e as HTMLElement).dataset.type),
      );
    expect(await shown()).not.toContain('bot-tts-text'); // chatty types hidden by default
    await page.uncheck('#hide-chatty');
    expect(await shown()).toContain('bot-tts-text');
    await page.fill('#event-filter', 'user-transcription');
    expect(new Set(await shown())).toEqual(new Set(['user-transcription']));
    await page.fill('#event-filter', '');
    await page.check('#hide-chatty');

    // One waterfall row for the turn, with numbers.
    await until(
      'waterfall row',
      async () => (await page.$$('#waterfall .turn-row')).length > 0 || undefined,
      60_000,
    );
    const row = await texts(page, '#waterfall .turn-row');
    expect(row[0]).toMatch(/^Turn 1 · \d+ ms to first audio/);
    const segs = await page.$$eval('#waterfall .seg', (els) =>
      els.map((e) => [
        e.querySelector('.name')?.textContent,
        Number.parseInt(e.querySelector('.ms')?.textContent ?? '', 10),
      ]),
    );
    const names = segs.map(([n]) => n);
    // The breakfast answer calls the demo's FAQ tool: its time is a segment of its own.
    expect(names).toEqual(['STT', 'LLM', 'Tools', 'TTS', 'Total']);
    for (const [, ms] of segs) expect(ms).toBeGreaterThanOrEqual(0);
    expect(Object.fromEntries(segs).Total).toBeGreaterThan(0);

    // The session's stored transcript, from the link.
    await page.click('#session a');
    await until('transcript dialog', async () => (await page.isVisible('#transcript-dialog')) || undefined);
    const stored = await page.textContent('#transcript-text');
    expect(stored).toMatch(/^user: .*breakfast/m);
    expect(stored).toContain(ANSWER_PART);
    await page.keyboard.press('Escape');
  });

  it('lays out at desktop and phone widths: no horizontal overflow, controls visible in the viewport', async () => {
    const page = browser.page;
    for (const [name, width, height] of [
      ['desktop', 1280, 800],
      ['phone', 375, 812],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: join(tmpdir(), `colloquy-console-${name}.png`), fullPage: true });
      const layout = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        controls: ['#talk', '#mute', '#transport', '#mic', '#mic-level', '#text'].map((sel) => {
          const r = document.querySelector(sel)?.getBoundingClientRect();
          return {
            sel,
            left: r?.left ?? -1,
            right: r?.right ?? 1e9,
            width: r?.width ?? 0,
            top: r?.top ?? -1,
          };
        }),
      }));
      expect(layout.scrollWidth, name).toBeLessThanOrEqual(layout.innerWidth);
      for (const c of layout.controls) {
        expect(c.width, `${name} ${c.sel} visible`).toBeGreaterThan(0);
        expect(c.left, `${name} ${c.sel} left`).toBeGreaterThanOrEqual(0);
        expect(c.right, `${name} ${c.sel} right`).toBeLessThanOrEqual(width);
      }
      // The connection controls are above the fold.
      for (const c of layout.controls.slice(0, 5)) expect(c.top, `${name} ${c.sel} top`).toBeLessThan(height);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows a server shutdown as a notice, not an error', async () => {
    const page = browser.page;
    await server.close();
    await until('notice banner', async () => (await texts(page, '.banner.notice')).join() || undefined);
    expect((await texts(page, '.banner.notice')).join()).toContain('The server shut down');
    await until('idle', async () => ((await page.textContent('#talk')) === 'Connect' ? true : undefined));
    // The socket's close comes after `conversation-end`: still no error shown once the page settled.
    await page.waitForTimeout(600);
    expect(await texts(page, '.banner.error p')).toEqual([]);
  });
});
