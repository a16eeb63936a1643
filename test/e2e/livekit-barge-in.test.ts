/**
 * Barge-in over a LiveKit room, with the real `livekit-client` in Chromium: the agent answers with a
 * long story; the fake microphone (Chromium loops its WAV) asks again while the agent speaks. The
 * agent's speech stops at once — at the interruption no agent audio is left queued for the page,
 * and not one more frame is sent until the next answer — the page hears the agent go quiet, the cut answer is
 * kept as what was heard, and the new question is answered.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMap } from '../../src/bus/events.ts';
import { DEMO_DIR } from '../../src/server/config.ts';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { bundleEntry, type StaticServer, servePage } from '../browser/bundle.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import type { RemoteAudioStats } from '../browser/page/types.ts';
import { startTestServer, until } from './helpers.ts';

const PAGE = join(fileURLToPath(new URL('.', import.meta.url)), '../browser/livekit-page/main.ts');
const STORY = [
  'Once upon a time there was a small hotel by the sea.',
  'Every morning the cook baked bread before the sun came up.',
  'The guests woke to the smell of it drifting through the halls.',
  'One winter a storm closed the road for a whole week.',
  'Nobody minded, because the bread never ran out.',
  'And that is why breakfast there is still famous today.',
].join(' ');

describe('barge-in over LiveKit (browser, offline models)', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  let site: StaticServer;
  let browser: LaunchedChromium;
  let roomName = '';
  const seen: Array<{ type: string; queuedMs: number; sentFrames: number; payload: unknown }> = [];

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      // Chromium loops this file: the question comes again about 5.3 s later, while the story plays.
      makeFakeMicWav({ text: 'what time is breakfast', leadingSilenceMs: 1000, trailingSilenceMs: 3000 }),
      bundleEntry(PAGE, 'colloquy-livekit-page'),
    ]);
    server = await startTestServer({
      file: {
        models: { llm: 'scripted:script.json' },
        agents: [{ name: 'concierge', instructions: 'Tell stories.' }],
      },
      files: { 'script.json': { rules: [{ when: 'breakfast', say: STORY }], fallback: STORY } },
      env: { COLLOQUY_STT: `pocketsphinx:${join(DEMO_DIR, 'demo.jsgf')}` },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APIbarge', apiSecret: 'barge-secret-0123456789-0123456789' },
        });
      },
    });
    site = await servePage(bundle);
    browser = await launchChromium({ wav: mic.path, loop: true });
    await browser.page.goto(site.origin);
    const details = await browser.page.evaluate(
      (url) => window.__lk.fetchDetails(url, {}),
      `${server.url}/livekit/connection-details`,
    );
    roomName = details.roomName;
    expect(await browser.page.evaluate((d) => window.__lk.connect(d), details)).toEqual({ ok: true });
    const lk = await until('the LiveKit session', async () => routes.session(roomName), 20_000);
    const record = <K extends keyof EventMap>(type: K) =>
      lk.session.eventBus.subscribe(type, (payload) =>
        // Read synchronously: what is queued for the page at the moment the event is published.
        seen.push({
          type,
          queuedMs: routes.room(roomName)?.queuedAudioMs ?? -1,
          sentFrames: routes.room(roomName)?.sentAudioFrames ?? -1,
          payload,
        }),
      );
    record('bot.tts.text');
    record('speech.interrupted');
    record('bot.speaking.start');
    record('assistant.text');
    record('llm.start');
  }, 90_000);

  afterAll(async () => {
    await browser?.page.evaluate(() => window.__lk?.disconnect()).catch(() => {});
    await browser?.close();
    await routes?.closeAll();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('the user talks over the story: the agent stops at once, nothing of the story is left queued', async () => {
    const interrupted = await until(
      'speech.interrupted',
      async () => seen.find((e) => e.type === 'speech.interrupted'),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(seen.map((e) => [e.type, e.queuedMs]))}`);
    });
    // The story was being spoken, with audio queued ahead of the page …
    const before = seen.filter(
      (e) => e.type === 'bot.tts.text' && seen.indexOf(e) < seen.indexOf(interrupted),
    );
    expect(before.length).toBeGreaterThan(0);
    expect(Math.max(...before.map((e) => e.queuedMs))).toBeGreaterThan(0);
    // … and at the interruption nothing is left to send.
    expect(interrupted.payload).toMatchObject({ reason: 'user_speaking' });
    expect(interrupted.queuedMs).toBe(0);
    const heard = (interrupted.payload as EventMap['speech.interrupted']).heardText;
    expect(STORY.startsWith(heard)).toBe(true);
    expect(heard.length).toBeLessThan(STORY.length);
  }, 70_000);

  it('the page hears the agent go quiet after the interruption', async () => {
    const level = () => browser.page.evaluate(() => window.__lk.remoteAudio()) as Promise<RemoteAudioStats>;
    // Quiet: no new loud samples arrive over half a second, before the next answer starts.
    const quiet = await until(
      'agent audio stops at the page',
      async () => {
        const a = await level();
        await new Promise((r) => setTimeout(r, 500));
        const b = await level();
        const answering = seen.filter((e) => e.type === 'bot.speaking.start').length > 1;
        return !answering && b.nonSilentSamples === a.nonSilentSamples ? b : undefined;
      },
      20_000,
    );
    expect(quiet.nonSilentSamples).toBeGreaterThan(0);
  }, 30_000);

  it('the new question is answered: the agent speaks again', async () => {
    await until(
      'second answer',
      async () => (seen.filter((e) => e.type === 'bot.speaking.start').length > 1 ? true : undefined),
      40_000,
    );
    const [cut] = seen.filter((e) => e.type === 'assistant.text').map((e) => e.payload);
    expect(cut).toMatchObject({ interrupted: true });
    expect(STORY.startsWith((cut as EventMap['assistant.text']).text)).toBe(true);
    // Not one frame of the story left for the page after the interruption: the frames sent when
    // the next turn's model is asked are the frames sent when the user cut in.
    const cutAt = seen.find((e) => e.type === 'speech.interrupted')!;
    const next = seen.find((e) => e.type === 'llm.start' && seen.indexOf(e) > seen.indexOf(cutAt))!;
    expect(next.sentFrames - cutAt.sentFrames).toBe(0);
  }, 50_000);
});
