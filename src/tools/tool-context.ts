/**
 * The tool execution context: what a tool's `execute` can reach of the session that runs it.
 *
 * Colloquy runs every tool through its tool runner, which hands the tool a `ToolContext` in the AI
 * SDK's `experimental_context` execution option. `toolContext(options)` reads it back:
 *
 * ```ts
 * const showCart = tool({
 *   inputSchema: z.object({ items: z.array(z.string()) }),
 *   execute: async ({ items }, options) => {
 *     const ctx = toolContext(options);
 *     ctx.gui.update({ cart: items });
 *     ctx.gui.notify('Cart updated');
 *     return { shown: true };
 *   },
 * });
 * ```
 */
import type { ToolExecutionOptions } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { InvalidInputError, SessionStateError } from '../errors.ts';
import {
  type ClientChannelKind,
  type ClientChannels,
  undeliverableReason,
} from '../session/client-channels.ts';

/** What publishing client-bound output achieved. */
export type Delivery = { delivered: true } | { delivered: false; reason: string };

/** Publishes GUI events to the session's clients (bus `gui.update` / `gui.notification`). */
export interface GuiPublisher {
  /** Publish `gui.update {data}` (RTVI `server-message`, native `gui_update`, VoiceAgent `gui_update`). */
  update(data: unknown): Delivery;
  /** Publish `gui.notification {message}`. */
  notify(message: string): Delivery;
}

export interface ToolContext {
  readonly sessionId: string;
  readonly agentName: string;
  readonly toolCallId: string;
  /** The turn the call belongs to (absent for calls outside a turn). */
  readonly turnId?: string;
  readonly gui: GuiPublisher;
  /** Publish a `client.event` on `topic` with `payload` (what `client_event` tools do). */
  clientEvent(topic: string, payload: unknown): Delivery;
  /** True when a connected client can receive output of `kind` now. */
  canDeliver(kind: ClientChannelKind): boolean;
}

/** The session-level publisher the tool context and `VoiceSession` share. */
export interface ClientOutputPort {
  readonly bus: SessionEventBus;
  readonly sessionId: string;
  readonly channels: ClientChannels;
}

/** Longest GUI notification text (characters). */
export const MAX_NOTIFICATION_CHARS = 2000;

function delivery(port: ClientOutputPort, kind: ClientChannelKind): Delivery {
  return port.channels.canDeliver(kind)
    ? { delivered: true }
    : { delivered: false, reason: undeliverableReason(kind) };
}

/** Publish `gui.update`; says whether a connected client can receive it. */
export function publishGuiUpdate(port: ClientOutputPort, data: unknown, turnId?: string): Delivery {
  port.bus.publish('gui.update', { sessionId: port.sessionId, data, ...(turnId ? { turnId } : {}) });
  return delivery(port, 'gui');
}

/** Publish `gui.notification`; the message must be a non-empty string of at most 2000 characters. */
export function publishGuiNotification(port: ClientOutputPort, message: string, turnId?: string): Delivery {
  if (typeof message !== 'string' || message.trim().length === 0) {
    throw new InvalidInputError('invalid_notification', 'A GUI notification needs a non-empty message');
  }
  if (message.length > MAX_NOTIFICATION_CHARS) {
    throw new InvalidInputError(
      'invalid_notification',
      `A GUI notification has at most ${MAX_NOTIFICATION_CHARS} characters`,
    );
  }
  port.bus.publish('gui.notification', {
    sessionId: port.sessionId,
    message,
    ...(turnId ? { turnId } : {}),
  });
  return delivery(port, 'gui');
}

/** Publish `client.event` on `topic`; says whether a connected client can receive it. */
export function publishClientEvent(
  port: ClientOutputPort,
  topic: string,
  payload: unknown,
  ids: { toolCallId?: string; turnId?: string } = {},
): Delivery {
  port.bus.publish('client.event', {
    sessionId: port.sessionId,
    topic,
    payload,
    ...(ids.toolCallId ? { toolCallId: ids.toolCallId } : {}),
    ...(ids.turnId ? { turnId: ids.turnId } : {}),
  });
  return delivery(port, 'client.event');
}

const BRAND = Symbol.for('colloquy.tool-context');

/** Build the context one tool call gets (the tool runner does this). */
export function createToolContext(
  port: ClientOutputPort,
  ids: { agentName: string; toolCallId: string; turnId?: string },
): ToolContext {
  const { turnId, toolCallId } = ids;
  const ctx: ToolContext & { [BRAND]: true } = {
    [BRAND]: true,
    sessionId: port.sessionId,
    agentName: ids.agentName,
    toolCallId,
    ...(turnId ? { turnId } : {}),
    gui: {
      update: (data) => publishGuiUpdate(port, data, turnId),
      notify: (message) => publishGuiNotification(port, message, turnId),
    },
    clientEvent: (topic, payload) => publishClientEvent(port, topic, payload, { toolCallId, turnId }),
    canDeliver: (kind) => port.channels.canDeliver(kind),
  };
  return ctx;
}

/**
 * The context of a tool call run by Colloquy, or `undefined` when the tool runs elsewhere.
 *
 * @example
 * ```ts
 * import { defineTool, findToolContext } from 'colloquy';
 * import { z } from 'zod';
 *
 * // a tool that also runs outside Colloquy (a plain AI SDK generateText call)
 * const addToCart = defineTool({
 *   description: 'Add an item to the cart',
 *   inputSchema: z.object({ sku: z.string() }),
 *   execute: async ({ sku }, options) => {
 *     findToolContext(options)?.gui.update({ cart: { added: sku } }); // undefined outside a session
 *     return { added: sku };
 *   },
 * });
 * ```
 */
export function findToolContext(
  options: Pick<ToolExecutionOptions, 'experimental_context'>,
): ToolContext | undefined {
  const c = options?.experimental_context as { [BRAND]?: true } | undefined;
  return c && typeof c === 'object' && c[BRAND] === true ? (c as ToolContext) : undefined;
}

/**
 * The context of a tool call run by a Colloquy session (from the `execute` options). Throws
 * `SessionStateError('no_tool_context')` when the tool was not run by Colloquy.
 *
 * @example
 * ```ts
 * import { defineTool, toolContext } from 'colloquy';
 * import { z } from 'zod';
 *
 * const showOnMap = defineTool({
 *   description: 'Show a place on the user’s map',
 *   inputSchema: z.object({ place: z.string() }),
 *   execute: async ({ place }, options) => {
 *     const ctx = toolContext(options); // throws no_tool_context when not run by a Colloquy session
 *     const shown = ctx.clientEvent('map.show', { place });
 *     return shown.delivered ? { shown: place } : { error: `no map on screen (${shown.reason})` };
 *   },
 * });
 * ```
 */
export function toolContext(options: Pick<ToolExecutionOptions, 'experimental_context'>): ToolContext {
  const ctx = findToolContext(options);
  if (!ctx) {
    throw new SessionStateError('no_tool_context', 'This tool was not run by a Colloquy session');
  }
  return ctx;
}
