/**
 * End to end, the user-input rows of the Pipecat client surface: the real PipecatClient +
 * WebSocketTransport in headless Chromium (fake microphone saying "what time is breakfast") against
 * the real Colloquy server whose STT is Deepgram streaming, served by the local fake Deepgram
 * (the only stand-in: a paid cloud model, speaking Deepgram's real wire protocol).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectRefusal } from '../../src/server/connect-hook.ts';
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

const CONNECT_PATH = '/agent/voice/breeze-buddy/connect';

describe('Pipecat client: interim transcripts, user mute, a custom connect path with requestData', () => {
  let deepgram: FakeDeepgramServer;
  let server: RunningServer;
  let leadServer: RunningServer;
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
    [server, leadServer, site] = await Promise.all([
      startTestServer({ edit: withoutGreeting, env: { COLLOQUY_STT: 'deepgram:nova-3' } }),
      startTestServer({
        file: {
          agents: [{ name: 'sales', instructions: 'You call {{name}}.' }],
          greeting: 'Hello there.',
          userMute: ['first-speech'],
          connectPaths: [CONNECT_PATH],
        },
        onConnect: ({ requestData }) => {
          if (requestData.lead_id !== 'L42') throw new ConnectRefusal(404, 'Unknown lead');
          return {
            agent: 'sales',
            variables: { name: 'Asha' },
            greeting: 'Hello {{name}}, thanks for your order.',
          };
        },
      }),
      servePage(bundle),
    ]);
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.close(), leadServer?.close(), site?.close(), deepgram?.close()]);
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
      60_000,
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
    // The server spoke Deepgram's protocol: a stream per utterance, each closed with CloseStream.
    expect(deepgram.connections.length).toBeGreaterThanOrEqual(1);
    for (const stream of deepgram.connections) {
      expect(stream.query.get('model')).toBe('nova-3');
      expect(stream.query.get('interim_results')).toBe('true');
      expect(stream.controls.at(-1)).toBe('CloseStream');
    }
    const audioBytes = deepgram.connections.reduce((n, c) => n + c.audioBytes, 0);
    expect(audioBytes).toBeGreaterThan(16000 * 2 * 0.5); // the spoken words went to Deepgram
    expect(await named('onError')).toEqual([]);
  }, 90_000);

  it("startBotAndConnect on the deployment's own path with requestData {lead_id}: the hook's greeting, and the user muted while it plays", async () => {
    await browser.page.goto(site.origin);
    await start({
      transport: 'websocket',
      endpoint: `${leadServer.url}${CONNECT_PATH}`,
      requestData: { lead_id: 'L42' },
      enableMic: false,
    });
    await until(
      'mute stopped',
      async () => ((await named('onUserMuteStopped')).length ? true : undefined),
      30_000,
    );
    const tts = (await named('onBotTtsText')).map((e) => (e.data as { text: string }).text).join(' ');
    expect(tts).toBe('Hello Asha, thanks for your order.');
    const order = (await events())
      .map((e) => e.name)
      .filter((n) =>
        ['onBotStartedSpeaking', 'onBotStoppedSpeaking', 'onUserMuteStarted', 'onUserMuteStopped'].includes(
          n,
        ),
      );
    expect(order).toEqual([
      'onBotStartedSpeaking',
      'onUserMuteStarted',
      'onBotStoppedSpeaking',
      'onUserMuteStopped',
    ]);
    expect(await named('onError')).toEqual([]);
  }, 90_000);

  it("an unknown lead is refused: startBotAndConnect fails with the hook's 404 message", async () => {
    await browser.page.goto(site.origin);
    const result = (await browser.page.evaluate((o) => window.__start(o), {
      transport: 'websocket',
      endpoint: `${leadServer.url}${CONNECT_PATH}`,
      requestData: { lead_id: 'nope' },
      enableMic: false,
    } as StartOptions)) as StartResult;
    expect(result).toMatchObject({ ok: false, error: expect.stringContaining('Unknown lead') });
    expect(leadServer.context.registry.activeCount).toBe(0);
  });
});
