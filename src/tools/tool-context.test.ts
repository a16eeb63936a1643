/** What a tool's `execute` reaches of its session: GUI updates, notifications, client events, delivery. */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { InvalidInputError, SessionStateError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { ClientChannels } from '../session/client-channels.ts';
import { EventRecorder } from '../testing/recorder.ts';
import {
  createToolContext,
  findToolContext,
  MAX_NOTIFICATION_CHARS,
  publishClientEvent,
  publishGuiNotification,
  publishGuiUpdate,
  toolContext,
} from './tool-context.ts';

function port() {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const channels = new ClientChannels();
  return { port: { bus, sessionId: 's1', channels }, channels, rec: new EventRecorder(bus) };
}

describe('tool context', () => {
  it('gui.update publishes gui.update with the data and the turn; delivered only while a GUI channel is connected', () => {
    const { port: p, channels, rec } = port();
    const ctx = createToolContext(p, { agentName: 'main', toolCallId: 'c1', turnId: 't1' });
    expect(ctx.gui.update({ cart: ['tea'] })).toEqual({
      delivered: false,
      reason: 'No connected client can receive GUI updates',
    });
    const off = channels.register({ name: 'rtvi', kinds: ['gui'] });
    expect(ctx.gui.update({ cart: [] })).toEqual({ delivered: true });
    off();
    expect(rec.payloads('gui.update')).toEqual([
      { sessionId: 's1', data: { cart: ['tea'] }, turnId: 't1' },
      { sessionId: 's1', data: { cart: [] }, turnId: 't1' },
    ]);
  });

  it('gui.notify publishes gui.notification; an empty, blank or over-long message is refused with invalid_notification', () => {
    const { port: p, channels, rec } = port();
    channels.register({ name: 'native', kinds: ['gui'] });
    const ctx = createToolContext(p, { agentName: 'main', toolCallId: 'c1' });
    const longest = 'x'.repeat(MAX_NOTIFICATION_CHARS);
    expect(ctx.gui.notify('Saved')).toEqual({ delivered: true });
    expect(ctx.gui.notify(longest)).toEqual({ delivered: true });
    for (const bad of ['', '   ', `${longest}y`, 42 as unknown as string]) {
      let thrown: unknown;
      try {
        ctx.gui.notify(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidInputError);
      expect(thrown).toMatchObject({ code: 'invalid_notification' });
    }
    expect(() => ctx.gui.notify(`${longest}y`)).toThrow('A GUI notification has at most 2000 characters');
    expect(() => ctx.gui.notify(' ')).toThrow('A GUI notification needs a non-empty message');
    expect(rec.payloads('gui.notification')).toEqual([
      { sessionId: 's1', message: 'Saved' },
      { sessionId: 's1', message: longest },
    ]);
  });

  it('clientEvent publishes client.event on the topic with the call and turn ids', () => {
    const { port: p, channels, rec } = port();
    const ctx = createToolContext(p, { agentName: 'main', toolCallId: 'c9', turnId: 't2' });
    expect(ctx.clientEvent('map.show', { place: 'Oslo' })).toEqual({
      delivered: false,
      reason: 'No connected client can receive client events',
    });
    channels.register({ name: 'ws', kinds: ['client.event'] });
    expect(ctx.clientEvent('map.show', { place: 'Bergen' })).toEqual({ delivered: true });
    expect(rec.payloads('client.event')).toEqual([
      { sessionId: 's1', topic: 'map.show', payload: { place: 'Oslo' }, toolCallId: 'c9', turnId: 't2' },
      { sessionId: 's1', topic: 'map.show', payload: { place: 'Bergen' }, toolCallId: 'c9', turnId: 't2' },
    ]);
  });

  it('outside a turn nothing carries a turnId', () => {
    const { port: p, rec } = port();
    const ctx = createToolContext(p, { agentName: 'main', toolCallId: 'c1' });
    expect(ctx).toMatchObject({ sessionId: 's1', agentName: 'main', toolCallId: 'c1' });
    expect('turnId' in ctx).toBe(false);
    ctx.gui.update(1);
    ctx.gui.notify('hi');
    ctx.clientEvent('t', 2);
    expect(rec.payloads('gui.update')).toEqual([{ sessionId: 's1', data: 1 }]);
    expect(rec.payloads('gui.notification')).toEqual([{ sessionId: 's1', message: 'hi' }]);
    expect(rec.payloads('client.event')).toEqual([
      { sessionId: 's1', topic: 't', payload: 2, toolCallId: 'c1' },
    ]);
  });

  it('the publishers used without a tool call carry only the ids they are given', () => {
    const { port: p, rec } = port();
    expect(publishGuiUpdate(p, { a: 1 })).toEqual({
      delivered: false,
      reason: 'No connected client can receive GUI updates',
    });
    publishGuiNotification(p, 'note', 't5');
    publishClientEvent(p, 'topic', null);
    publishClientEvent(p, 'topic', null, { turnId: 't6' });
    expect(rec.payloads('gui.update')).toEqual([{ sessionId: 's1', data: { a: 1 } }]);
    expect(rec.payloads('gui.notification')).toEqual([{ sessionId: 's1', message: 'note', turnId: 't5' }]);
    expect(rec.payloads('client.event')).toEqual([
      { sessionId: 's1', topic: 'topic', payload: null },
      { sessionId: 's1', topic: 'topic', payload: null, turnId: 't6' },
    ]);
  });

  it('canDeliver follows the connected channels by kind', () => {
    const { port: p, channels } = port();
    const ctx = createToolContext(p, { agentName: 'main', toolCallId: 'c1' });
    expect(ctx.canDeliver('ui.request')).toBe(false);
    const off = channels.register({ name: 'rtvi', kinds: ['ui.request'] });
    expect(ctx.canDeliver('ui.request')).toBe(true);
    expect(ctx.canDeliver('gui')).toBe(false);
    off();
    expect(ctx.canDeliver('ui.request')).toBe(false);
  });

  it('findToolContext reads back only a context the runner made; toolContext throws no_tool_context otherwise', () => {
    const { port: p } = port();
    const ctx = createToolContext(p, { agentName: 'main', toolCallId: 'c1' });
    expect(findToolContext({ experimental_context: ctx })).toBe(ctx);
    expect(toolContext({ experimental_context: ctx })).toBe(ctx);
    const lookalike = { sessionId: 's1', agentName: 'main', toolCallId: 'c1', gui: ctx.gui };
    for (const other of [undefined, null, 'ctx', 42, {}, lookalike]) {
      expect(findToolContext({ experimental_context: other })).toBeUndefined();
      let thrown: unknown;
      try {
        toolContext({ experimental_context: other });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(SessionStateError);
      expect(thrown).toMatchObject({
        code: 'no_tool_context',
        message: 'This tool was not run by a Colloquy session',
      });
    }
  });
});
