/**
 * The playground console's controls and failure paths, in headless Chromium with the real Pipecat
 * client against the real server: a failing LLM shown once in words, mute (nothing is sent while
 * muted, the phrase is heard once unmuted), typing during the greeting (the greeting is cut off and
 * the stored transcript keeps the order things were said), and the SmallWebRTC transport.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import type { WebRtcRoutes } from '../../src/server/webrtc-routes.ts';
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
import { startWebRtcTestServer } from './webrtc-test-server.ts';

describe('playground console: errors', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let browser: LaunchedChromium;
  let llm: Awaited<ReturnType<typeof refusingLlm>>;

  beforeAll(async () => {
    llm = await refusingLlm();
    const mic = await makeFakeMicWav({
      text: 'hello',
      leadingSilenceMs: 200,
      trailingSilenceMs: 200,
      noiseFloorDb: -90,
    });
    server = await startTestServer({
      edit: withoutGreeting,
      env: { COLLOQUY_LLM: `openai-compatible:broken-model@${llm.url}` },
    });
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await llm?.close();
  });

  it('shows a failing LLM once, as a readable banner (not raw JSON), and the session goes on', async () => {
    const page = browser.page;
    await page.goto(server.url);
    await page.click('#talk');
    await until(
      'connected',
      async () => ((await page.textContent('#talk')) === 'Disconnect' ? true : undefined),
      60_000,
    );
    await page.fill('#text', 'what time is breakfast');
    await page.press('#text', 'Enter');
    await until(
      'error banner',
      async () => (await texts(page, '.banner.error p')).length || undefined,
      60_000,
    );
    await until('error in the timeline', async () =>
      (await page.$$('#timeline li[data-type="error"]')).length ? true : undefined,
    );
    const banners = await texts(page, '.banner.error p');
    expect(banners).toHaveLength(1);
    // The provider's own text stays in the server log (it may echo a key or the prompt).
    expect(banners[0]).toBe('The language model failed: llm failed (llm_stream_failed)');
    expect(banners[0]).not.toContain('{');
    expect(llm.requests).toBeGreaterThan(0);
    expect(await page.textContent('#talk')).toBe('Disconnect');
  });
});

describe('playground console: SmallWebRTC', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let routes: WebRtcRoutes;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    const mic = await makeFakeMicWav({
      text: SAID,
      wordsPerMinute: 130,
      leadingSilenceMs: 1000,
      trailingSilenceMs: 3000,
    });
    ({ server, routes } = await startWebRtcTestServer({ edit: withoutGreeting }));
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await routes?.closeAll();
    await server?.close();
  });

  it('offers SmallWebRTC when the server has its routes, and talks over it', async () => {
    const page = browser.page;
    await page.goto(server.url);
    await until(
      'webrtc offered',
      async () =>
        (await page.$eval('#transport option[value="webrtc"]', (o) => !(o as HTMLOptionElement).disabled)) ||
        undefined,
    );
    expect(
      await page.$eval('#transport option[value="livekit"]', (o) => (o as HTMLOptionElement).disabled),
    ).toBe(true);
    await page.selectOption('#transport', 'webrtc');
    await page.click('#talk');
    // What the recogniser makes of Opus audio on a loaded machine varies; the test is about the
    // transport: the user's speech is heard and the bot answers over it.
    await waitLine(browser, 'user line over WebRTC', (l) => l.cls === 'line user');
    await waitLine(browser, 'bot answer over WebRTC', (l) => l.cls.startsWith('line bot'));
    expect(await page.textContent('#session code')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await page.$$('.banner.error')).toHaveLength(0);
    await page.click('#talk');
    await until('disconnected', async () =>
      (await page.textContent('#talk')) === 'Connect' ? true : undefined,
    );
  });
});

describe('playground console: typing during the greeting', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    server = await startTestServer({ edit: withLongGreeting });
    browser = await launchChromium({ wav: await quietMic(20_000) });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('cuts the greeting off: the answer stands alone and the stored transcript keeps the order', async () => {
    const page = browser.page;
    await page.goto(server.url);
    await page.click('#talk');
    // Type once the greeting's second sentence plays ("Hello!" was heard, the rest is still to come).
    await waitLine(browser, 'greeting', (l) => l.cls.includes('bot') && l.text.includes('concierge'));
    await page.fill('#text', SAID);
    await page.press('#text', 'Enter');
    await waitLine(browser, 'answer', (l) => l.cls.includes('bot') && l.text.includes(ANSWER_PART));
    const all = await lines(page);
    const bot = all.filter((l) => l.cls.includes('bot'));
    expect(bot).toHaveLength(2);
    expect(bot[0].cls).toContain('interrupted');
    expect(bot[0].text).toMatch(/^Bot: Hello!.*interrupted$/);
    expect(bot[1].text).toBe('Bot: Breakfast is served from seven to ten in the garden room.');
    expect(all.map((l) => l.cls.split(' ')[1])).toEqual(['bot', 'user', 'tool', 'bot']);

    const id = await page.textContent('#session code');
    // The answer enters the stored transcript once it has been spoken.
    await until('answer stored', async () => {
      const record = await (await fetch(`${server.url}/sessions/${id}/transcript`)).json();
      return JSON.stringify(record.transcript.at(-1) ?? '').includes(ANSWER_PART) || undefined;
    });
    await page.click('#session a');
    await until('transcript dialog', async () => (await page.isVisible('#transcript-dialog')) || undefined);
    const stored = (await page.textContent('#transcript-text'))?.split('\n') ?? [];
    // greeting (as heard), the typed question, the tool call and its result, the answer
    expect(stored.map((l) => l.split(':')[0])).toEqual([
      'assistant',
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
    expect(stored[0]).toMatch(/^assistant: Hello!/);
    expect(stored[1]).toBe(`user: ${SAID}`);
    expect(stored[2]).toContain('hotel_faq');
    expect(stored[4]).toContain(ANSWER_PART);
    expect(await texts(page, '.banner.error p')).toEqual([]);
  });
});

describe('playground console: mute', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let browser: LaunchedChromium;
  /** The looping microphone's pass, and the phrase's length in it. */
  let micMs: number;
  let phraseMs: number;

  beforeAll(async () => {
    const mic = await makeFakeMicWav({
      text: SAID,
      wordsPerMinute: 130,
      leadingSilenceMs: 500,
      trailingSilenceMs: 1500,
    });
    micMs = mic.durationMs;
    phraseMs = mic.speechEndMs - mic.speechStartMs;
    server = await startTestServer({ edit: withoutGreeting });
    browser = await launchChromium({ wav: mic.path, loop: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sends nothing while muted (a whole pass of the phrase goes unheard), and the phrase once unmuted', async () => {
    const page = browser.page;
    await page.goto(server.url);
    await page.click('#mute');
    expect(await page.getAttribute('#mute', 'aria-pressed')).toBe('true');
    await page.click('#talk');
    await connected(page);
    const heard = () =>
      page.$$eval('#timeline li', (els) =>
        els.map((e) => (e as HTMLElement).dataset.type).filter((t) => t === 'user-started-speaking'),
      );
    const t0 = Date.now();
    let maxLevel = 0;
    // The looping microphone says the phrase once per pass: whenever muting began, a pass and a
    // phrase muted hold the whole phrase (and every sample of the pass); nothing may reach the server.
    while (Date.now() - t0 < micMs + phraseMs + 500) {
      maxLevel = Math.max(maxLevel, await page.$eval('#mic-level', (m) => (m as HTMLMeterElement).value));
      await page.waitForTimeout(100);
    }
    expect(await heard()).toEqual([]);
    expect((await lines(page)).filter((l) => l.cls.includes('user'))).toEqual([]);
    expect(maxLevel).toBe(0);

    await page.click('#mute');
    expect(await page.getAttribute('#mute', 'aria-pressed')).toBe('false');
    await waitLine(
      browser,
      'answer once unmuted',
      (l) => l.cls.includes('bot') && l.text.includes(ANSWER_PART),
    );
    // Unmuting mid-phrase may give a fragment first; the question is heard on a whole pass.
    const users = (await lines(page)).filter((l) => l.cls === 'line user').map((l) => l.text);
    expect(users.some((t) => t.includes('breakfast'))).toBe(true);
    expect(await page.$eval('#mic-level', (m) => (m as HTMLMeterElement).value)).toBeGreaterThanOrEqual(0);
  });
});
