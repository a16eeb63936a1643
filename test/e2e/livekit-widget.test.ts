/**
 * The drop-in widget in a page on another origin: one `<script>` tag served by the Colloquy server
 * (built with the build script, as `npm run build` does). Click the call button, talk through the
 * fake microphone, see the agent's state and the transcript, mute, hang up; screenshots at desktop
 * and phone widths.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWidget } from '../../scripts/build-widget.mjs';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';

const SAID = 'what time is breakfast';
const SCREENSHOT_DIR = join(tmpdir(), 'colloquy-widget-screenshots');

describe('the LiveKit widget (one script tag, real browser)', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  let site: Server;
  let origin: string;
  let browser: LaunchedChromium;

  const widget = () => browser.page.locator('[data-colloquy-widget]');

  beforeAll(async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'colloquy-widget-'));
    const [mic, built] = await Promise.all([
      makeFakeMicWav({ text: SAID, leadingSilenceMs: 1200, trailingSilenceMs: 3000 }),
      buildWidget({ outDir }),
    ]);
    server = await startTestServer({
      edit: withoutGreeting,
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APIwidget', apiSecret: 'widget-secret-0123456789-0123456789' },
          widgetFile: built.file,
        });
      },
    });
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>
<body style="margin:0;font-family:sans-serif"><main style="padding:24px"><h1>Acme shop</h1><p>Questions? Call our assistant.</p></main>
<script src="${server.url}/livekit/widget.js" data-position="bottom-right" data-color="#0f766e" data-label="Talk to Acme"></script>
</body></html>`;
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await launchChromium({ wav: mic.path });
    await browser.page.setViewportSize({ width: 1280, height: 800 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await routes?.closeAll();
    await server?.close();
    await new Promise<void>((resolve) => {
      site?.closeAllConnections();
      site?.close(() => resolve());
    });
  });

  it('the script adds an accessible call button; nothing connects before the click', async () => {
    await browser.page.goto(origin);
    const call = widget().getByRole('button', { name: 'Start a voice call' });
    await call.waitFor();
    expect(await call.textContent()).toBe('Talk to Acme');
    expect(routes.size).toBe(0);
    expect(await browser.page.evaluate(() => window.__ColloquyWidget?.state)).toBe('idle');
    await browser.page.screenshot({ path: join(SCREENSHOT_DIR, 'widget-1280-idle.png') });
  });

  it('click: the call starts, the Room is exposed, the agent listens and the user is transcribed', async () => {
    await widget().getByRole('button', { name: 'Start a voice call' }).click();
    await widget().getByRole('button', { name: 'End the call' }).waitFor({ timeout: 20_000 });
    await until('room connected', async () =>
      (await browser.page.evaluate(() => window.__ColloquyWidget?.room?.state)) === 'connected'
        ? true
        : undefined,
    );
    expect(routes.size).toBe(1);
    // During the call the call button gives way to the panel.
    expect(await widget().getByRole('button', { name: 'Start a voice call' }).isVisible()).toBe(false);
    await widget().getByRole('status').filter({ hasText: 'Listening' }).waitFor({ timeout: 20_000 });
    const log = widget().getByRole('list', { name: 'Transcript' });
    await log.getByText(SAID).waitFor({ timeout: 40_000 });
    await log
      .getByText('Breakfast is served from seven to ten in the garden room.')
      .waitFor({ timeout: 40_000 });
    await browser.page.screenshot({ path: join(SCREENSHOT_DIR, 'widget-1280-call.png') });
  });

  it('mute toggles the microphone (aria-pressed) and the session hears it', async () => {
    const roomName = await browser.page.evaluate(() => window.__ColloquyWidget!.room!.name);
    const bus = routes.session(roomName)!.session.eventBus;
    const heard: string[] = [];
    bus.subscribe('user.mute.start', () => heard.push('muted'));
    bus.subscribe('user.mute.stop', () => heard.push('unmuted'));
    await widget().getByRole('button', { name: 'Mute' }).click();
    expect(await widget().getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed')).toBe('true');
    await until('mic muted', async () =>
      (await browser.page.evaluate(
        () => window.__ColloquyWidget?.room?.localParticipant.isMicrophoneEnabled,
      )) === false
        ? true
        : undefined,
    );
    await until('mute reached the session', () => (heard.length === 1 ? true : undefined));
    await widget().getByRole('button', { name: 'Unmute' }).click();
    expect(await widget().getByRole('button', { name: 'Mute' }).getAttribute('aria-pressed')).toBe('false');
    await until('unmute reached the session', () => (heard.length === 2 ? true : undefined));
    expect(heard).toEqual(['muted', 'unmuted']);
  });

  it('fits a 375 px wide phone screen', async () => {
    await browser.page.setViewportSize({ width: 375, height: 740 });
    const box = await widget().locator('.panel').boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(375);
    await browser.page.screenshot({ path: join(SCREENSHOT_DIR, 'widget-375-call.png') });
  });

  it('hang up ends the call: the session closes normally and the call button comes back', async () => {
    const roomName = await browser.page.evaluate(() => window.__ColloquyWidget!.room!.name);
    const session = routes.session(roomName)!;
    await widget().getByRole('button', { name: 'End the call' }).click();
    await widget().getByRole('button', { name: 'Start a voice call' }).waitFor();
    expect(await session.closed).toBe('client_disconnected');
    expect(routes.size).toBe(0);
    expect(await browser.page.evaluate(() => window.__ColloquyWidget?.room)).toBeUndefined();
    await browser.page.setViewportSize({ width: 1280, height: 800 });
  });
});
