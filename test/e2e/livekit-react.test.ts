/**
 * LiveKit's React agent components against a Colloquy server, the way the starter apps use them:
 * `useSession(TokenSource.endpoint('/livekit/connection-details'))`, `useVoiceAssistant` and
 * `useSessionMessages`, from a page on another origin. The user speaks through a fake microphone
 * and types a chat message; the hooks see the agent, its state changes and both transcripts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { bundleEntry, type StaticServer, servePage } from '../browser/bundle.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import type { RxMessage, RxState } from '../browser/livekit-react-page/main.ts';
import { BREAKFAST_QUESTION, startTestServer, until, withoutGreeting } from './helpers.ts';

const PAGE = join(fileURLToPath(new URL('.', import.meta.url)), '../browser/livekit-react-page/main.ts');

type Snapshot = Omit<RxState, 'send' | 'end'>;

describe('@livekit/components-react hooks against the Colloquy server (browser, offline models)', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const snapshot = () =>
    browser.page.evaluate(() => {
      const { send: _s, end: _e, ...rest } = window.__rx;
      return JSON.parse(JSON.stringify(rest));
    }) as Promise<Snapshot>;
  const waitUntil = <T>(what: string, pick: (s: Snapshot) => T | undefined, timeoutMs = 40_000) =>
    until(what, async () => pick(await snapshot()), timeoutMs).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\n--- hooks ---\n${JSON.stringify(await snapshot())}\n--- page log ---\n${browser.logs.slice(-30).join('\n')}`,
      );
    });
  const messagesOf = (s: Snapshot, type: string) => s.messages.filter((m: RxMessage) => m.type === type);

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: 'what time is breakfast', leadingSilenceMs: 1200, trailingSilenceMs: 60_000 }),
      bundleEntry(PAGE, 'colloquy-livekit-react-page'),
    ]);
    server = await startTestServer({
      edit: withoutGreeting,
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APIreact', apiSecret: 'react-secret-0123456789-0123456789' },
        });
      },
    });
    site = await servePage(bundle);
    browser = await launchChromium({ wav: mic.path });
    await browser.page.goto(site.origin);
    await browser.page.evaluate(
      (endpoint) => window.__rxStart(endpoint),
      `${server.url}/livekit/connection-details`,
    );
  }, 90_000);

  afterAll(async () => {
    await browser?.page.evaluate(() => window.__rx?.end()).catch(() => {});
    await browser?.close();
    await routes?.closeAll();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('useSession connects through TokenSource.endpoint; useVoiceAssistant finds the agent, listening', async () => {
    const s = await waitUntil('agent listening', (s) =>
      s.connectionState === 'connected' && s.agent && s.states.includes('listening') ? s : undefined,
    );
    expect(s.error).toBeUndefined();
    expect(s.agent).toEqual({ identity: expect.any(String), isAgent: true });
    expect(routes.size).toBe(1);
  });

  it('the spoken question: the user transcript and the agent answer reach useSessionMessages', async () => {
    const s = await waitUntil('spoken exchange', (s) =>
      messagesOf(s, 'userTranscript').length && messagesOf(s, 'agentTranscript').length ? s : undefined,
    );
    const [heard] = messagesOf(s, 'userTranscript');
    expect(heard?.text).toMatch(BREAKFAST_QUESTION);
    expect(heard?.identity).not.toBe(s.agent?.identity);
    const [answer] = messagesOf(s, 'agentTranscript');
    expect(answer?.identity).toBe(s.agent?.identity);
    expect(answer?.text.length).toBeGreaterThan(0);
  });

  it('useVoiceAssistant follows the agent: thinking, speaking, then listening again', async () => {
    const s = await waitUntil('back to listening', (s) =>
      s.states.includes('speaking') && s.states.at(-1) === 'listening' ? s : undefined,
    );
    const after = s.states.slice(s.states.indexOf('thinking'));
    expect(after).toEqual(['thinking', 'speaking', 'listening']);
  });

  it('a chat message sent with useSessionMessages is answered in the same message list', async () => {
    const before = messagesOf(await snapshot(), 'agentTranscript').length;
    await browser.page.evaluate(() => window.__rx.send('what time is breakfast'));
    const s = await waitUntil('chat answer', (s) =>
      messagesOf(s, 'agentTranscript').length > before ? s : undefined,
    );
    const chat = messagesOf(s, 'chatMessage');
    expect(chat.map((m) => m.text)).toContain('what time is breakfast');
    const answers = messagesOf(s, 'agentTranscript');
    expect(answers.at(-1)?.identity).toBe(s.agent?.identity);
  });
});
