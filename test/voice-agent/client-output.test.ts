/**
 * Client-bound output on the native WebSocket protocol: `client_event` tools, and GUI events from a
 * tool's context and from application code, reach a real `ws` client as `client_event`,
 * `gui_update`, `gui_notification` messages and the VoiceAgent as events of the same names. The LLM
 * is told the truth about delivery.
 */
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../../src/bus/event-bus.ts';
import type { EventMap } from '../../src/bus/events.ts';
import { silentLogger } from '../../src/logger.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import { buildDeclarativeTools, parseDeclarativeTools } from '../../src/tools/declarative/build.ts';
import { toolContext } from '../../src/tools/tool-context.ts';
import { type MessageLog, openClient, startServer, until } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const openPricing = parseDeclarativeTools([
  {
    name: 'open_pricing_page',
    kind: 'client_event',
    description: 'Navigate the user to the pricing page.',
    input_schema: { type: 'object', properties: { highlight_plan: { type: 'string' } } },
    config: { topic: 'custom.open_pricing' },
  },
]);

const showCart = tool({
  description: 'Show the cart',
  inputSchema: z.object({ items: z.array(z.string()) }),
  execute: async ({ items }, options) => {
    const ctx = toolContext(options);
    const update = ctx.gui.update({ cart: items });
    const note = ctx.gui.notify(`${items.length} items in your cart`);
    return { update, note };
  },
});

function makeAgent() {
  const model = mockLanguageModel([
    [
      { toolCall: { name: 'open_pricing_page', args: { highlight_plan: 'pro' }, id: 'c1' } },
      { toolCall: { name: 'show_cart', args: { items: ['tea', 'milk'] }, id: 'c2' } },
    ],
    'Done.',
  ]);
  // Declarative tools need a bus only when run outside a session; the session passes its own context.
  const tools = {
    ...buildDeclarativeTools(openPricing, { bus: new EventBus<EventMap>(), sessionId: 'unused' }),
    show_cart: showCart,
  };
  const agent = new VoiceAgent({ model, tools, logger: silentLogger });
  cleanups.push(() => agent.destroy());
  const events: Array<{ name: string; payload: unknown }> = [];
  for (const name of ['client_event', 'gui_update', 'gui_notification'] as const) {
    agent.on(name, (payload: unknown) => events.push({ name, payload }));
  }
  return { agent, events, rec: new EventRecorder(agent.bus) };
}

describe('client_event and GUI events on the native WebSocket protocol', () => {
  it('reach a connected ws client and the VoiceAgent events; the LLM is told delivered: true', async () => {
    const { agent, events, rec } = makeAgent();
    const server = await startServer((socket) => agent.handleSocket(socket));
    cleanups.push(() => server.close());
    const log: MessageLog = await openClient(server.url);
    cleanups.push(() => log.socket.terminate());
    log.send({ type: 'transcript', text: 'show me pricing and my cart' });
    await log.waitFor('response_complete');

    const turnId = rec.first('turn.start')?.turnId;
    expect(log.of('client_event')).toEqual([
      {
        type: 'client_event',
        topic: 'custom.open_pricing',
        payload: { highlight_plan: 'pro' },
        toolCallId: 'c1',
        turnId,
      },
    ]);
    expect(log.of('gui_update')).toEqual([{ type: 'gui_update', data: { cart: ['tea', 'milk'] }, turnId }]);
    expect(log.of('gui_notification')).toEqual([
      { type: 'gui_notification', message: '2 items in your cart', turnId },
    ]);
    expect(events).toEqual([
      {
        name: 'client_event',
        payload: { topic: 'custom.open_pricing', payload: { highlight_plan: 'pro' }, toolCallId: 'c1' },
      },
      { name: 'gui_update', payload: { data: { cart: ['tea', 'milk'] } } },
      { name: 'gui_notification', payload: { message: '2 items in your cart' } },
    ]);
    const results = Object.fromEntries(rec.payloads('tool.result').map((r) => [r.toolCallId, r.result]));
    expect(results).toEqual({
      c1: { delivered: true, topic: 'custom.open_pricing' },
      c2: { update: { delivered: true }, note: { delivered: true } },
    });
  });

  it('with no client connected the LLM gets delivered: false and the reason', async () => {
    const { agent, rec } = makeAgent();
    await agent.sendText('show me pricing and my cart');
    const results = Object.fromEntries(rec.payloads('tool.result').map((r) => [r.toolCallId, r.result]));
    expect(results).toEqual({
      c1: {
        delivered: false,
        reason: 'No connected client can receive client events',
        topic: 'custom.open_pricing',
      },
      c2: {
        update: { delivered: false, reason: 'No connected client can receive GUI updates' },
        note: { delivered: false, reason: 'No connected client can receive GUI updates' },
      },
    });
  });

  it('application code publishes GUI events through the session', async () => {
    const { agent } = makeAgent();
    const server = await startServer((socket) => agent.handleSocket(socket));
    cleanups.push(() => server.close());
    const log = await openClient(server.url);
    cleanups.push(() => log.socket.terminate());
    await until(() => agent.connected);
    expect(agent.session.clientChannels.names('gui')).toEqual(['websocket']);
    expect(agent.session.publishGuiUpdate({ step: 2 })).toEqual({ delivered: true });
    expect(agent.session.publishGuiNotification('Saved')).toEqual({ delivered: true });
    expect(() => agent.session.publishGuiNotification('')).toThrow(/non-empty/);
    await log.waitFor('gui_notification');
    expect(log.of('gui_update')).toEqual([{ type: 'gui_update', data: { step: 2 } }]);
    expect(log.of('gui_notification')).toEqual([{ type: 'gui_notification', message: 'Saved' }]);
    log.socket.close();
    await new Promise<void>((r) => agent.once('disconnected', () => r()));
    expect(agent.session.clientChannels.canDeliver('gui')).toBe(false);
  });
});
