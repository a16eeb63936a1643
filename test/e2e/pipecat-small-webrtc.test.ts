/**
 * End to end over SmallWebRTC: the real server (127.0.0.1:0, `/connect` + the SmallWebRTC signalling
 * routes), the offline demo stack (scripted LLM, pocketsphinx with the demo JSGF grammar, espeak,
 * Silero), and the real PipecatClient with `SmallWebRTCTransport` + `WavMediaManager(512, 16000)` in
 * headless Chromium, whose fake microphone says "what time is breakfast". The user's speech goes up
 * as Opus on the audio track, RTVI travels on the `chat` data channel, and the bot's answer comes back
 * as Opus that the page plays and measures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import type { WebRtcRoutes } from '../../src/server/webrtc-routes.ts';
import { bundlePage, type StaticServer, servePage } from '../browser/bundle.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import type { PageEvent, RemoteAudioStats, StartOptions, StartResult } from '../browser/page/index.ts';
import { BREAKFAST_QUESTION, until, withoutGreeting } from './helpers.ts';
import { startWebRtcTestServer } from './webrtc-test-server.ts';

const SAID = 'what time is breakfast';
const ANSWER = 'Breakfast is served from seven to ten in the garden room.';

describe('Pipecat SmallWebRTC client against the Colloquy server (browser, offline models)', () => {
  let server: RunningServer;
  let routes: WebRtcRoutes;
  let site: StaticServer;
  let browser: LaunchedChromium;
  let pcId: string;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const data = async (name: string) => (await events()).filter((e) => e.name === name).map((e) => e.data);
  const waitFor = (name: string, pred: (d: any) => boolean = () => true, timeoutMs = 30_000) =>
    until(
      name,
      async () => {
        const found = (await data(name)).filter(pred);
        return found.length ? found : undefined;
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- page log ---\n${browser.logs.slice(-30).join('\n')}`);
    });
  const remoteAudio = () => browser.page.evaluate(() => window.__remoteAudio()) as Promise<RemoteAudioStats>;

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: SAID, leadingSilenceMs: 1000, trailingSilenceMs: 3000 }),
      bundlePage(),
    ]);
    ({ server, routes } = await startWebRtcTestServer({ edit: withoutGreeting }));
    site = await servePage(bundle);
    browser = await launchChromium({ wav: mic.path });
    await browser.page.goto(site.origin);
  }, 60_000);

  afterAll(async () => {
    await browser?.page.evaluate(() => window.__disconnect()).catch(() => {});
    await browser?.close();
    await routes?.closeAll();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('connects through /connect and the offer route; the bot is ready', async () => {
    const options: StartOptions = {
      transport: 'small-webrtc',
      endpoint: `${server.url}/connect`,
      requestData: { transport: 'webrtc' },
    };
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({
      ok: true,
      botReady: { version: '2.1.0', about: { library: 'colloquy' } },
    });
    expect(routes.size).toBe(1);
    const [connected] = (await waitFor('onBotConnected')) as Array<{ id: string }>;
    pcId = connected.id;
    expect(routes.get(pcId)?.name).toBe('small-webrtc');
    expect(routes.session(pcId)?.state).toBe('ready');
    expect(await data('onBotReady')).toHaveLength(1);
    // No greeting: nothing has played yet, so the audio check below measures the answer.
    expect(await remoteAudio()).toEqual({ tracks: 0, nonSilentSamples: 0, peak: 0 });
    // The client's trackStatus signalling reached the transport: the mic is on, the camera off.
    await until('trackStatus', () => (routes.get(pcId)?.trackEnabled(1) === false ? true : undefined));
    expect(routes.get(pcId)?.trackEnabled(0)).toBe(true);
  });

  it('hears the user over Opus: speech start, then the breakfast question as the transcript', async () => {
    await waitFor('onUserStartedSpeaking');
    const [final] = await waitFor('onUserTranscript', (d) => d.final === true);
    expect(final).toMatchObject({
      text: expect.stringMatching(BREAKFAST_QUESTION),
      final: true,
      user_id: expect.any(String),
    });
    expect(typeof (final as { timestamp: unknown }).timestamp).toBe('string');
  });

  it('runs the turn: LLM text, the tool call, TTS text, speech and metrics', async () => {
    await waitFor('onBotStoppedSpeaking', () => true, 45_000);
    const llmText = (await data('onBotLlmText')) as Array<{ text: string }>;
    expect(llmText.map((d) => d.text).join('')).toBe(ANSWER);
    expect(await data('onBotLlmStarted')).not.toHaveLength(0);
    expect(await data('onLLMFunctionCallStarted')).toEqual([{ function_name: 'hotel_faq' }]);
    const [inProgress] = (await data('onLLMFunctionCallInProgress')) as Array<Record<string, unknown>>;
    expect(inProgress).toMatchObject({ function_name: 'hotel_faq', arguments: { query: 'breakfast' } });
    const [stopped] = (await data('onLLMFunctionCallStopped')) as Array<Record<string, any>>;
    expect(stopped).toMatchObject({
      tool_call_id: inProgress.tool_call_id,
      function_name: 'hotel_faq',
      cancelled: false,
    });
    expect(JSON.stringify(stopped.result)).toContain('Breakfast is served from seven to ten');
    const ttsText = (await data('onBotTtsText')) as Array<{ text: string }>;
    expect(ttsText.map((d) => d.text).join(' ')).toBe(ANSWER);
    expect(await data('onBotStartedSpeaking')).toHaveLength(1);
    const metrics = (await waitFor('onMetrics', (m) => 'total_latency_ms' in m)) as Array<
      Record<string, any>
    >;
    expect(metrics[0]).toMatchObject({
      stt_latency_ms: expect.any(Number),
      llm_ttfb_ms: expect.any(Number),
      tts_ttfb_ms: expect.any(Number),
      total_latency_ms: expect.any(Number),
    });
    expect(await data('onError')).toEqual([]);
  });

  it('plays the bot audio track in the page (non-silent samples through an AnalyserNode)', async () => {
    // 0.25 s of audible samples at 48 kHz: speech, not comfort noise.
    const stats = await until(
      'audible bot audio',
      async () => {
        const s = await remoteAudio();
        return s.nonSilentSamples > 12_000 ? s : undefined;
      },
      30_000,
    );
    expect(stats.tracks).toBe(1);
    expect(stats.peak).toBeGreaterThan(0.05);
    const tracks = (await data('onTrackStarted')) as Array<{ track: string }>;
    expect(tracks.filter((t) => t.track === 'audio').length).toBeGreaterThanOrEqual(2); // mic + bot
  });

  it('ends on disconnect-bot: conversation-end, then onBotDisconnected; the server drops the peer', async () => {
    const session = routes.session(pcId)!;
    await browser.page.evaluate(() => window.__disconnectBot());
    const [end] = await waitFor('onServerMessage', (m) => m.type === 'conversation-end');
    expect(end).toEqual({ type: 'conversation-end', data: { reason: 'client_disconnected' } });
    const [left] = (await waitFor('onBotDisconnected')) as Array<{ id: string }>;
    expect(left.id).toBe(pcId);
    expect(await session.closed).toBe('client_disconnected');
    await until('peer removed', () => (routes.size === 0 ? true : undefined));
    expect(server.context.registry.get(session.id)?.closeReason).toBe('client_disconnected');
    const transcript = server.context.registry.get(session.id)?.transcript ?? [];
    expect(transcript.find((m) => m.role === 'user')?.content).toMatch(BREAKFAST_QUESTION);
  });

  it('refuses bad signalling input on the real server', async () => {
    const url = `${server.url}/api/offer`;
    const send = (method: string, body: unknown) =>
      fetch(url, {
        method,
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const unknown = await send('PATCH', {
      pc_id: 'not-a-peer',
      candidates: [
        {
          candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host',
          sdp_mid: '0',
          sdp_mline_index: 0,
        },
      ],
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ info: 'No peer connection "not-a-peer"' });

    const badSdp = await send('POST', { sdp: 'this is not sdp', type: 'offer' });
    expect(badSdp.status).toBe(400);
    expect(((await badSdp.json()) as { info: string }).info).toMatch(/^Invalid offer: sdp: not an SDP/);

    const refused = await send('POST', { sdp: 'v=0\r\nm=audio nonsense\r\n', type: 'offer' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { info: string }).info).toMatch(/^SDP refused: /);

    const missing = await send('POST', { type: 'offer' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { info: string }).info).toMatch(/^Invalid offer: sdp: /);

    const noCandidates = await send('PATCH', { pc_id: 'x' });
    expect(noCandidates.status).toBe(400);
    expect(((await noCandidates.json()) as { info: string }).info).toMatch(
      /^Invalid candidates: candidates: /,
    );
    expect(routes.size).toBe(0);
  });
});
