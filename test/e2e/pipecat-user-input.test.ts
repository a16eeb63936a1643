/**
 * End to end, the user-input rows of the Pipecat client surface: the real PipecatClient +
 * WebSocketTransport in headless Chromium (fake microphone saying "what time is breakfast") against
 * the real Colloquy server whose STT is Deepgram streaming, served by the local fake Deepgram
 * (the only stand-in: a paid cloud model, speaking Deepgram's real wire protocol).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { FakeDeepgramServer } from '../../src/testing/fake-deepgram-server.ts';
import {
  bundlePage,
  type LaunchedChromium,
  launchChromium,
  makeFakeMicWav,
  type PageEvent,
  type StartOptions,
  type StartResult,
  type StaticServer,
  servePage,
} from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';

describe('Pipecat client: interim transcripts from a streaming STT', () => {
  let deepgram: FakeDeepgramServer;
  let server: RunningServer;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const named = async (name: string) => (await events()).filter((e) => e.name === name);
  const start = async (options: StartOptions) => {
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({ ok: true });
    return result as Extract<StartResult, { ok: true }>;
  };

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({
        text: 'what time is breakfast',
        wordsPerMinute: 130,
        leadingSilenceMs: 700,
        trailingSilenceMs: 2500,
      }),
      bundlePage(),
    ]);
    deepgram = await FakeDeepgramServer.start({ transcript: 'what time is breakfast', msPerWord: 250 });
    // Provider keys and endpoints come from the process environment, as in a deployment.
    process.env.DEEPGRAM_API_KEY = deepgram.apiKey;
    process.env.COLLOQUY_DEEPGRAM_URL = deepgram.url;
    [server, site] = await Promise.all([
      startTestServer({ edit: withoutGreeting, env: { COLLOQUY_STT: 'deepgram:nova-3' } }),
      servePage(bundle),
    ]);
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.close(), site?.close(), deepgram?.close()]);
    delete process.env.DEEPGRAM_API_KEY;
    delete process.env.COLLOQUY_DEEPGRAM_URL;
  });

  it('onUserTranscript: interim hypotheses (final: false) grow while the user speaks, then the final', async () => {
    await browser.page.goto(site.origin);
    await start({
      transport: 'websocket',
      endpoint: `${server.url}/connect`,
      requestData: { agent: 'concierge' },
    });
    await until(
      'final transcript',
      async () => (await named('onUserTranscript')).find((e) => (e.data as { final: boolean }).final),
      30_000,
    );
    const transcripts = (await named('onUserTranscript')).map((e) => ({
      ...(e.data as object),
      t: e.t,
    })) as Array<{
      text: string;
      final: boolean;
      timestamp: string;
      user_id: string;
      t: number;
    }>;
    const interims = transcripts.filter((t) => !t.final);
    const finals = transcripts.filter((t) => t.final);
    expect(interims.length).toBeGreaterThanOrEqual(2);
    for (const i of interims) {
      expect(i).toMatchObject({ final: false, timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      expect('what time is breakfast'.startsWith(i.text)).toBe(true);
    }
    // They grow word by word, and all come before the final.
    expect(interims[0]!.text.split(' ').length).toBeLessThan(4);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({
      text: 'what time is breakfast',
      final: true,
      user_id: interims[0]!.user_id,
    });
    expect(Math.max(...interims.map((i) => i.t))).toBeLessThanOrEqual(finals[0]!.t);
    // The server spoke Deepgram's protocol: one stream per utterance, closed with CloseStream.
    const [stream] = deepgram.connections;
    expect(stream!.query.get('model')).toBe('nova-3');
    expect(stream!.query.get('interim_results')).toBe('true');
    expect(stream!.controls.at(-1)).toBe('CloseStream');
    expect(stream!.audioBytes).toBeGreaterThan(16000 * 2); // more than a second of speech
    expect(await named('onError')).toEqual([]);
  });
});
