/**
 * Speech recognition and synthesis failures are visible in the playground console (headless Chromium, the real
 * Pipecat client, the real server): a recogniser that hears no words ends the user's turn with a
 * note instead of leaving the page on "thinking…"; a recogniser that fails (a refused Deepgram key,
 * a grammar file that is not there, no key) shows one readable error banner instead of "hearing you…".
 * A speech synthesis endpoint that refuses shows a banner while the answer still appears as text.
 * Deepgram is the local fake speaking its wire protocol, the synthesis endpoint a local HTTP server
 * answering like OpenAI's refusals; everything else is the offline demo.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { FakeDeepgramServer } from '../../src/testing/fake-deepgram-server.ts';
import { type LaunchedChromium, launchChromium, makeFakeMicWav } from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';
import { connected, lines, SAID, texts, waitLine } from './playground-page.ts';

let browser: LaunchedChromium;
let server: RunningServer | undefined;
let deepgram: FakeDeepgramServer | undefined;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  // One utterance, then a long silence: after it the page's status is what the turn left behind.
  const mic = await makeFakeMicWav({ text: SAID, leadingSilenceMs: 1000, trailingSilenceMs: 30_000 });
  browser = await launchChromium({ wav: mic.path });
}, 60_000);

afterEach(async () => {
  await browser.page.goto('about:blank');
  await server?.close();
  await deepgram?.close();
  server = undefined;
  deepgram = undefined;
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  saved.clear();
});

afterAll(async () => {
  await browser?.close();
});

/** Starts the server with `env` (models read keys and endpoints from the process environment). */
async function connect(env: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  server = await startTestServer({ edit: withoutGreeting, env });
  await browser.page.goto(server.url);
  await browser.page.click('#talk');
  await connected(browser.page).catch(async (err: Error) => {
    throw new Error(
      `${err.message}\nstatus: ${await status()}\nbanners: ${await texts(browser.page, '.banner p')}\n${browser.logs.slice(-20).join('\n')}`,
    );
  });
}

const status = () => browser.page.textContent('#status');

/** Waits for exactly one error banner; the page's state in the failure. */
async function oneErrorBanner(): Promise<string> {
  const page = browser.page;
  await until(
    'error banner',
    async () => (await texts(page, '.banner.error p')).length || undefined,
    60_000,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}\nstatus: ${await status()}\nlines: ${JSON.stringify(await lines(page))}`);
  });
  const banners = await texts(page, '.banner.error p');
  expect(banners).toHaveLength(1);
  return banners[0]!;
}

describe('playground console: speech recognition problems are shown', { timeout: 90_000 }, () => {
  it('speech with no recognised words: a note in the transcript, the page listens again', async () => {
    deepgram = await FakeDeepgramServer.start({ transcript: '' });
    await connect({
      COLLOQUY_STT: 'deepgram:nova-3',
      DEEPGRAM_API_KEY: deepgram.apiKey,
      COLLOQUY_DEEPGRAM_URL: deepgram.url,
    });
    const note = await waitLine(browser, 'no-words note', (l) => l.text.includes('no words were recognised'));
    expect(note.cls).toBe('line meta');
    expect(deepgram.connections[0]?.audioBytes).toBeGreaterThan(0); // the speech did reach the recogniser
    expect(await status()).toBe('listening');
    expect((await lines(browser.page)).filter((l) => l.cls.startsWith('line user'))).toEqual([]);
    expect(await browser.page.$$('.banner.error')).toHaveLength(0);
    expect(
      await browser.page.$$eval('#timeline li[data-type="server-message"]', (els) =>
        els.map((e) => e.textContent ?? ''),
      ),
    ).toContainEqual(expect.stringContaining('user-speech-unrecognized'));
  });

  it('a cloud recogniser refusing its key: one readable banner, not "hearing you…" forever', async () => {
    deepgram = await FakeDeepgramServer.start({ transcript: SAID });
    await connect({
      COLLOQUY_STT: 'deepgram:nova-3',
      DEEPGRAM_API_KEY: 'not-the-key',
      COLLOQUY_DEEPGRAM_URL: deepgram.url,
    });
    const banner = await oneErrorBanner();
    expect(banner).toMatch(/^Speech recognition failed: stt failed \(\w+\)$/);
    expect(deepgram.refused.map((r) => r.status)).toContain(401);
    expect(await status()).not.toBe('hearing you…');
  });

  it('a cloud recogniser without its key (a server started without the start checks): the connect fails in words', async () => {
    saved.set('DEEPGRAM_API_KEY', process.env.DEEPGRAM_API_KEY);
    delete process.env.DEEPGRAM_API_KEY;
    server = await startTestServer({ edit: withoutGreeting, env: { COLLOQUY_STT: 'deepgram:nova-3' } });
    await browser.page.goto(server.url);
    await browser.page.click('#talk');
    expect(await oneErrorBanner()).toBe(
      'Could not connect: Deepgram STT needs an API key: set DEEPGRAM_API_KEY',
    );
    await until('back to idle', async () =>
      (await browser.page.textContent('#talk')) === 'Connect' ? true : undefined,
    );
  });

  it('a grammar file that is not there (a server started without the start checks): one readable banner', async () => {
    await connect({ COLLOQUY_STT: 'pocketsphinx:/nowhere/demo.jsgf' });
    const banner = await oneErrorBanner();
    expect(banner).toMatch(/^Speech recognition failed: /);
    expect(banner).not.toContain('{');
    expect(await status()).not.toBe('hearing you…');
  });
});

describe('playground console: speech synthesis problems are shown', { timeout: 90_000 }, () => {
  it('a synthesis endpoint that refuses: one readable banner, and the answer still shows as text', async () => {
    let requests = 0;
    const refusing = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests++;
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'Unknown voice', type: 'invalid_request_error' } }));
      });
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    try {
      const { port } = refusing.address() as AddressInfo;
      await connect({
        COLLOQUY_TTS: 'openai-compatible:tts-1',
        COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: `http://127.0.0.1:${port}/v1`,
      });
      await browser.page.fill('#text', SAID);
      await browser.page.press('#text', 'Enter');
      expect(await oneErrorBanner()).toMatch(/^Speech synthesis failed: tts failed \(\w+\)$/);
      expect(requests).toBeGreaterThan(0);
      await waitLine(
        browser,
        'the answer as text',
        (l) => l.cls.startsWith('line bot') && l.text.includes('garden room'),
      );
    } finally {
      await new Promise<void>((r) => refusing.close(() => r()));
    }
  });
});
