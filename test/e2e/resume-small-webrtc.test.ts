/**
 * Resume over SmallWebRTC with the real PipecatClient + SmallWebRTCTransport in headless Chromium:
 * the handle comes in `bot-ready`'s `about`; the client disconnects mid-conversation (its peer
 * connection closes), a new client connects with `requestData.resume_handle` through `/connect` and
 * the offer route, and continues the same conversation: same session id, the earlier turn in the
 * model's prompt, `session.resume` on the bus. The LLM is a local OpenAI-compatible server speaking
 * the real wire format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMap } from '../../src/bus/events.ts';
import { silentLogger } from '../../src/logger.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from '../../src/server/webrtc-routes.ts';
import { bundlePage, type StaticServer, servePage } from '../browser/bundle.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import type { PageEvent, StartOptions, StartResult } from '../browser/page/index.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { startTestServer, until } from './helpers.ts';

const userTexts = (r: ChatRequest) =>
  r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

describe('resume over SmallWebRTC (real Pipecat client)', () => {
  let llm: FakeOpenAiChat;
  let server: RunningServer;
  let routes: WebRtcRoutes;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const count = async (name: string) => (await events()).filter((e) => e.name === name).length;
  const start = async (requestData: Record<string, unknown>) => {
    const options: StartOptions = {
      transport: 'small-webrtc',
      endpoint: `${server.url}/connect`,
      requestData: { transport: 'webrtc', ...requestData },
      enableMic: false,
    };
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.slice(-20).join('\n')).toMatchObject({ ok: true });
    return (result as { botReady: { about: Record<string, any> } }).botReady.about;
  };
  const say = async (text: string) => {
    const before = await count('onBotLlmStopped');
    await browser.page.evaluate((t) => window.__sendText(t), text);
    await until('answer', async () => ((await count('onBotLlmStopped')) > before ? true : undefined), 30_000);
  };

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: 'hello', leadingSilenceMs: 200, trailingSilenceMs: 200 }),
      bundlePage(),
    ]);
    llm = await startFakeOpenAiChat((r) => `Noted: ${userTexts(r).at(-1)}`);
    server = await startTestServer({
      env: { COLLOQUY_RESUME_WINDOW_MS: '30000' },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      },
      registerRoutes: (app, ctx) => {
        routes = registerWebRtcRoutes(app, {
          config: ctx.config,
          logger: silentLogger,
          tokens: ctx.tokens,
          // Late-bound: the test wraps the server's createSession to watch the session's bus.
          createSession: (transport, profile) => ctx.createSession(transport, profile),
          ...(ctx.resume ? { resume: ctx.resume } : {}),
        });
      },
    });
    site = await servePage(bundle);
    browser = await launchChromium({ wav: mic.path });
    await browser.page.goto(site.origin);
  }, 60_000);

  afterAll(async () => {
    await browser?.page.evaluate(() => window.__disconnect()).catch(() => {});
    await browser?.close();
    await routes?.closeAll();
    await Promise.all([server?.close(), site?.close(), llm?.close()]);
  });

  it('a client that dropped mid-conversation comes back with its handle and continues the same conversation', async () => {
    const resumes: Array<EventMap['session.resume']> = [];
    const create = server.context.createSession;
    server.context.createSession = (transport, profile) => {
      const s = create(transport, profile);
      s.session.eventBus.subscribe('session.resume', (e) => resumes.push(e));
      return s;
    };
    const about = await start({ user_id: 'ana' });
    const { session_id: id, resume_handle: handle } = about;
    expect(handle).toMatch(/^[\w-]{43}$/);
    await say('My room is 214');

    // The client goes away (its peer connection closes); the session waits for it.
    await browser.page.evaluate(() => window.__disconnect());
    await until('detached', () =>
      server.context.registry.isLive(id) && routes.size === 0 ? true : undefined,
    );

    await browser.page.goto(site.origin); // a reload: a new client
    const again = await start({ user_id: 'ana', resume_handle: handle });
    expect(again.session_id).toBe(id);
    expect(again.resume_handle).toMatch(/^[\w-]{43}$/);
    expect(again.resume_handle).not.toBe(handle);
    expect(resumes).toEqual([{ sessionId: id, handle }]);

    const n = llm.requests.length;
    await say('Which room did I say?');
    // The resumed conversation's prompt starts with the turn from before the drop and ends with the
    // new one. (Chromium's fake microphone may also have been heard in between: not what this is about.)
    const texts = userTexts(llm.requests.slice(n).at(-1)!);
    expect(texts[0]).toBe('My room is 214');
    expect(texts.at(-1)).toBe('Which room did I say?');
    server.context.createSession = create;

    // The spent handle cannot be used again.
    const res = await fetch(`${server.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transport: 'webrtc', user_id: 'ana', resume_handle: handle }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'resume_used' });
  }, 120_000);
});
