/**
 * "Open a page and talk to it": the server's own playground page at `/`, in headless Chromium with a
 * fake microphone that asks about breakfast. The bundled offline demo answers from its knowledge base.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { type LaunchedChromium, launchChromium, makeFakeMicWav } from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';

describe('playground page', () => {
  let server: RunningServer;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    const mic = await makeFakeMicWav({
      text: 'what time is breakfast',
      wordsPerMinute: 130,
      leadingSilenceMs: 1500,
      trailingSilenceMs: 2500,
    });
    server = await startTestServer({ edit: withoutGreeting });
    browser = await launchChromium({ wav: mic.path });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves a page whose Talk button connects, hears the user and shows the spoken answer and tool call', async () => {
    const page = browser.page;
    await page.goto(server.url);
    expect(await page.title()).toBe('Colloquy playground');
    await page.click('#talk');
    const lines = () => page.$$eval('.line', (els) => els.map((e) => `${e.className}|${e.textContent}`));
    await until(
      'bot answer in the page',
      async () => (await lines()).find((l) => l.startsWith('line bot') && l.includes('garden room')),
      30_000,
    );
    const all = await lines();
    expect(all).toContainEqual('line user|You: what time is breakfast');
    expect(all.some((l) => l.startsWith('line tool|Tool: hotel_faq'))).toBe(true);
    expect(all.filter((l) => l.startsWith('line error'))).toEqual([]);
  });
});
