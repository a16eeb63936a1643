/**
 * End to end, a subagent UI round trip over LiveKit: the real, unmodified `livekit-client` in
 * headless Chromium joins a room on the Colloquy server (text only: no microphone), types to the
 * agent (`lk.chat`), the main agent hands the request to a background subagent, the subagent asks
 * the user (a reliable data packet on `colloquy.subagent.ui`), the page answers on
 * `colloquy.subagent.ui.response`, the subagent finishes and the main agent tells the user (its
 * transcript stream). A forged answer gets a typed refusal on the UI topic; the session goes on.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import {
  SUBAGENT_UI_RESPONSE_TOPIC,
  SUBAGENT_UI_TOPIC,
} from '../../src/surfaces/livekit/livekit-projection.ts';
import { bundleEntry, type StaticServer, servePage } from '../browser/bundle.ts';
import { type LaunchedChromium, launchChromium } from '../browser/chromium.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import type { LkEvent } from '../browser/livekit-page/main.ts';
import { startTestServer, until } from './helpers.ts';
import { BOOKED, LEAVE_LATER, QUESTION, subagentScenario } from './subagent-scenario.ts';

const PAGE = join(fileURLToPath(new URL('.', import.meta.url)), '../browser/livekit-page/main.ts');

describe('subagent UI through the real livekit-client (Chromium, text only)', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__lk.events) as Promise<LkEvent[]>;
  const data = async (name: string) => (await events()).filter((e) => e.name === name).map((e) => e.data);
  const uiPackets = async () =>
    (await data('data'))
      .filter((d) => d.topic === SUBAGENT_UI_TOPIC)
      .map((d) => ({ identity: d.identity, payload: JSON.parse(d.text) }));
  const agentSaid = (text: string) =>
    until(
      `the agent said "${text}"`,
      async () =>
        (await data('transcription')).some((d) => d.identity === 'concierge' && d.text.includes(text))
          ? true
          : undefined,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- page log ---\n${browser.logs.slice(-30).join('\n')}`);
    });

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: 'hello', leadingSilenceMs: 200, trailingSilenceMs: 200 }),
      bundleEntry(PAGE, 'colloquy-livekit-page'),
    ]);
    server = await startTestServer({
      ...subagentScenario(),
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APItest', apiSecret: 'test-secret-0123456789-0123456789' },
        });
      },
    });
    site = await servePage(bundle, { anyPath: true });
    browser = await launchChromium({ wav: mic.path });
    await browser.page.goto(site.origin);
  }, 60_000);

  afterAll(async () => {
    await browser?.page.evaluate(() => window.__lk?.disconnect()).catch(() => {});
    await browser?.close();
    await routes?.closeAll();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('question on colloquy.subagent.ui → answer on colloquy.subagent.ui.response → the main agent tells the user', {
    timeout: 90_000,
  }, async () => {
    const details = await browser.page.evaluate(
      (url) => window.__lk.fetchDetails(url, { user_id: 'ana' }),
      `${server.url}/livekit/connection-details`,
    );
    const joined = await browser.page.evaluate((d) => window.__lk.connect(d, { mic: false }), details);
    expect(joined, browser.logs.join('\n')).toEqual({ ok: true });
    await until('media up', () =>
      routes.room(details.roomName)?.roomState === 'connected' ? true : undefined,
    );
    await browser.page.evaluate((text) => window.__lk.sendChat(text), LEAVE_LATER);

    const [asked] = await until('the question', async () => {
      const packets = (await uiPackets()).filter((p) => p.payload.type === 'request');
      return packets.length ? packets : undefined;
    });
    expect(asked).toEqual({
      identity: 'concierge',
      payload: {
        type: 'request',
        requestId: expect.stringMatching(/^ui_/),
        subagentName: 'desk',
        prompt: QUESTION,
        options: ['yes', 'no'],
        expiresAt: expect.any(Number),
      },
    });
    const { requestId } = asked!.payload as { requestId: string };

    // A forged request id: refused on the UI topic with its code; the question keeps waiting.
    await browser.page.evaluate(
      (topic) => window.__lk.publish(JSON.stringify({ requestId: 'ui_forged', value: 'yes' }), topic),
      SUBAGENT_UI_RESPONSE_TOPIC,
    );
    const refusal = await until('the refusal', async () =>
      (await uiPackets()).find((p) => p.payload.type === 'error'),
    );
    expect(refusal.payload).toEqual({
      type: 'error',
      requestId: 'ui_forged',
      code: 'ui_request_unknown',
      message: expect.any(String),
    });

    await browser.page.evaluate(
      ({ id, topic }) => window.__lk.publish(JSON.stringify({ requestId: id, value: 'yes' }), topic),
      { id: requestId, topic: SUBAGENT_UI_RESPONSE_TOPIC },
    );
    await agentSaid(BOOKED);
    // Answered, not withdrawn: no cancel for it.
    expect((await uiPackets()).filter((p) => p.payload.type === 'cancel')).toEqual([]);
    // Text only: the page published no microphone, and the room has none.
    expect(await data('localTrackPublished')).toEqual([]);
    expect(routes.room(details.roomName)?.userTrackSid).toBeUndefined();
  });
});
