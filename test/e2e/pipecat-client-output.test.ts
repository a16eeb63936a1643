/**
 * Client-bound output reaches the real Pipecat client (PipecatClient + WebSocketTransport in headless
 * Chromium): a `client_event` tool's topic and raw arguments arrive as `server-message {type: topic,
 * data: args}` and the model is told `delivered: true`; `gui.update` / `gui.notification` published
 * by application code through the session arrive as `server-message gui-update {data}` and
 * `gui-notification {message}`. Offline demo models; the user types (`sendText`) so no recogniser
 * is involved.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import type { Delivery } from '../../src/tools/tool-context.ts';
import { FAKE_MIC_SAMPLE_RATE, wavBytes } from '../browser/fake-mic.ts';
import {
  bundlePage,
  type LaunchedChromium,
  launchChromium,
  type PageEvent,
  type StartOptions,
  type StartResult,
  type StaticServer,
  servePage,
} from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';

const MAP = { floor: 0, place: 'lobby', pins: [{ x: 12, y: 40, label: 'Reception' }] };
const NOTE = 'A map of the lobby is on your screen.';

describe('client_event and GUI events reach the real Pipecat client (Chromium, WebSocket transport)', () => {
  let server: RunningServer;
  let site: StaticServer;
  let browser: LaunchedChromium;
  const deliveries: Delivery[] = [];

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const data = async (name: string) => (await events()).filter((e) => e.name === name).map((e) => e.data);
  const serverMessage = (type: string) =>
    until(
      `server-message ${type}`,
      async () =>
        ((await data('onServerMessage')) as Array<{ type: string; data: unknown }>).find(
          (m) => m.type === type,
        ),
      30_000,
    );

  beforeAll(async () => {
    // A quiet microphone (a faint noise floor, no speech): the user only types.
    const dir = await mkdtemp(join(tmpdir(), 'colloquy-quiet-mic-'));
    const samples = new Int16Array(FAKE_MIC_SAMPLE_RATE * 2);
    for (let i = 0; i < samples.length; i++) samples[i] = (i % 7) - 3;
    const wav = join(dir, 'quiet.wav');
    await writeFile(wav, wavBytes(samples, FAKE_MIC_SAMPLE_RATE));
    const [bundle, started] = await Promise.all([bundlePage(), startTestServer({ edit: withoutGreeting })]);
    server = started;
    // Application code: when the demo's show_map tool ran, update the client's UI through the session.
    const create = server.context.createSession;
    server.context.createSession = (transport, profile) => {
      const s = create(transport, profile);
      s.session.eventBus.subscribe('tool.result', (r) => {
        if (r.name !== 'show_map') return;
        deliveries.push(s.session.publishGuiUpdate(MAP), s.session.publishGuiNotification(NOTE));
      });
      return s;
    };
    site = await servePage(bundle);
    browser = await launchChromium({ wav });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.close(), site?.close()]);
  });

  it('the client gets the tool topic with its arguments, then gui-update and gui-notification, with their payloads', async () => {
    await browser.page.goto(site.origin);
    const options: StartOptions = {
      transport: 'websocket',
      endpoint: `${server.url}/connect`,
      requestData: { agent: 'concierge' },
    };
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({ ok: true });

    await browser.page.evaluate(() => window.__sendText('where is the lobby map'));

    // The client_event tool (`show_map`, topic `custom.show_map`): the raw arguments, unchanged.
    expect(await serverMessage('custom.show_map')).toEqual({
      type: 'custom.show_map',
      data: { place: 'lobby' },
    });
    expect(await serverMessage('gui-update')).toEqual({ type: 'gui-update', data: { data: MAP } });
    expect(await serverMessage('gui-notification')).toEqual({
      type: 'gui-notification',
      data: { message: NOTE },
    });
    expect(deliveries).toEqual([{ delivered: true }, { delivered: true }]);

    // The model was told the truth: a connected client received it.
    const stopped = await until(
      'show_map result',
      async () =>
        ((await data('onLLMFunctionCallStopped')) as Array<{ function_name: string; result: unknown }>).find(
          (d) => d.function_name === 'show_map',
        ),
      30_000,
    );
    expect(stopped).toMatchObject({
      function_name: 'show_map',
      arguments: { place: 'lobby' },
      cancelled: false,
      result: { delivered: true },
    });
    // Order as the client saw it: the tool's event, then the application's GUI messages.
    const types = ((await data('onServerMessage')) as Array<{ type: string }>).map((m) => m.type);
    const at = (t: string) => types.indexOf(t);
    expect(at('custom.show_map')).toBeLessThan(at('gui-update'));
    expect(at('gui-update')).toBeLessThan(at('gui-notification'));
  });
});
