/**
 * End to end, a subagent UI round trip through the real PipecatClient + WebSocketTransport in
 * headless Chromium against the real Colloquy server (scripted LLM): the user asks for something,
 * the main agent hands it to a background subagent, the subagent asks the user through the client
 * (RTVI `server-message` `subagent-ui-request`), the page answers with `sendUIEvent`, the subagent
 * finishes and the main agent tells the user. Forged and late answers are refused with the error's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import {
  bundlePage,
  type LaunchedChromium,
  launchChromium,
  makeFakeMicWav,
  type PageEvent,
  type StartResult,
  type StaticServer,
  servePage,
} from '../browser/index.ts';
import { startTestServer, until } from './helpers.ts';
import { BOOKED, LEAVE_LATER, QUESTION, subagentScenario } from './subagent-scenario.ts';

describe('subagent UI through the real Pipecat client', () => {
  let server: RunningServer;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const data = async (name: string) => (await events()).filter((e) => e.name === name).map((e) => e.data);

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: 'hello', wordsPerMinute: 130, leadingSilenceMs: 200, trailingSilenceMs: 200 }),
      bundlePage(),
    ]);
    [server, site] = await Promise.all([startTestServer(subagentScenario()), servePage(bundle)]);
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('subagent-ui-request → ui-event subagent-ui-response → the main agent tells the user', async () => {
    await browser.page.goto(site.origin);
    const result = (await browser.page.evaluate((o) => window.__start(o), {
      transport: 'websocket' as const,
      endpoint: `${server.url}/connect`,
      enableMic: false,
    })) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({ ok: true });
    await browser.page.evaluate((text) => window.__sendText(text), LEAVE_LATER);

    const request = (await until('subagent-ui-request', async () =>
      ((await data('onServerMessage')) as Array<{ type: string; data: any }>).find(
        (m) => m.type === 'subagent-ui-request',
      ),
    )) as { type: string; data: { requestId: string } };
    expect(request.data).toEqual({
      type: 'request',
      requestId: expect.stringMatching(/^ui_/),
      subagentName: 'desk',
      prompt: QUESTION,
      options: ['yes', 'no'],
      expiresAt: expect.any(Number),
    });
    const { requestId } = request.data;

    // A forged request id: the client's onMessageError gets the typed refusal; the session goes on.
    await browser.page.evaluate(() =>
      window.__client!.sendUIEvent('subagent-ui-response', { requestId: 'ui_forged', value: 'yes' }),
    );
    const refusal = (await until('onMessageError', async () => (await data('onMessageError'))[0])) as {
      type: string;
      data: { error: string };
    };
    expect(refusal).toMatchObject({
      type: 'error-response',
      data: { error: expect.stringMatching(/^ui_request_unknown: /) },
    });

    await browser.page.evaluate(
      (id) => window.__client!.sendUIEvent('subagent-ui-response', { requestId: id, value: 'yes' }),
      requestId,
    );
    await until('the main agent tells the user', async () => {
      const said = ((await data('onBotTtsText')) as Array<{ text: string }>).map((d) => d.text).join(' ');
      return said.includes(BOOKED) ? said : undefined;
    });

    // Answering again (as a client-message request this time): the request is finished.
    const late = await browser.page.evaluate(
      (id) =>
        window.__request('subagent-ui-response', { requestId: id, value: 'no' }).then(
          (r) => ({ ok: true, r }),
          (e: unknown) => ({ ok: false, e: JSON.stringify(e) }),
        ),
      requestId,
    );
    expect(late).toMatchObject({ ok: false, e: expect.stringContaining('ui_request_finished') });
    expect((await data('onError')).length).toBe(0);
  }, 90_000);
});
