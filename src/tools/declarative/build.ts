/**
 * Turns validated declarative tool definitions into AI SDK tools bound to one session's bus.
 * Arguments are validated against the tool's JSON schema by the AI SDK before `execute` runs.
 */

import type { JSONSchema7 } from '@ai-sdk/provider';
import { jsonSchema, type Tool, type ToolSet, tool } from 'ai';
import type { SessionEventBus } from '../../bus/event-bus.ts';
import { ConfigError, InvalidInputError, ToolError } from '../../errors.ts';
import { AddressPolicy } from '../../net/address-policy.ts';
import { ClientChannels } from '../../session/client-channels.ts';
import { zodIssueText } from '../../zod-issues.ts';
import { withToolSettings } from '../define-tool.ts';
import { findToolContext, publishClientEvent } from '../tool-context.ts';
import { callHttpTool } from './http.ts';
import { KnowledgeBase } from './kb.ts';
import { type DeclarativeTool, DeclarativeToolSchema } from './schema.ts';

export interface DeclarativeToolContext {
  bus: SessionEventBus;
  sessionId: string;
  /**
   * Internal hosts, IP addresses and CIDR ranges `http` tools may reach (added to each tool's own
   * `config.allow`). Loopback, private, link-local and metadata addresses are refused otherwise.
   */
  httpAllow?: readonly string[];
  /**
   * Runs a `client_function` tool on the connected client and resolves with its result. Without it,
   * such tools fail with `client_functions_unavailable` (the LLM sees the error).
   */
  callClient?: (call: ClientFunctionCall, signal: AbortSignal) => Promise<unknown>;
  /**
   * Connected client channels, for tools run outside a Colloquy session's tool runner (inside one,
   * the session's own registry is used).
   */
  channels?: ClientChannels;
}

const NO_CHANNELS = new ClientChannels();

/** One call of a `client_function` tool. */
export interface ClientFunctionCall {
  toolCallId: string;
  name: string;
  args: Record<string, unknown>;
}

const EMPTY_OBJECT: JSONSchema7 = { type: 'object', properties: {}, additionalProperties: true };

/**
 * Validate raw JSON definitions; throws ConfigError naming the first bad tool.
 *
 * @example
 * ```ts
 * import { parseDeclarativeTools } from 'colloquy';
 * import { readFile } from 'node:fs/promises';
 *
 * // throws ConfigError (invalid_tools / invalid_tool) naming the first bad definition
 * const defs = parseDeclarativeTools(JSON.parse(await readFile('tools.json', 'utf8')));
 * console.log(defs.map((d) => `${d.name} (${d.kind})`));
 * ```
 */
export function parseDeclarativeTools(raw: unknown): DeclarativeTool[] {
  if (!Array.isArray(raw)) throw new ConfigError('invalid_tools', 'tools must be an array');
  return raw.map((def, i) => {
    const r = DeclarativeToolSchema.safeParse(def);
    if (!r.success) {
      const name = (def as { name?: unknown })?.name;
      throw new ConfigError(
        'invalid_tool',
        `tool #${i}${typeof name === 'string' ? ` "${name}"` : ''}: ${zodIssueText(r.error)}`,
      );
    }
    return r.data;
  });
}

/**
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { buildDeclarativeTools, EventBus, type EventMap, parseDeclarativeTools, VoiceSession } from 'colloquy';
 *
 * const defs = parseDeclarativeTools([
 *   {
 *     name: 'get_weather',
 *     kind: 'http',
 *     description: 'Current weather for a city',
 *     input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
 *     config: { url: 'https://api.example.com/weather?city={{city}}' },
 *   },
 *   { name: 'show_map', kind: 'client_event', description: 'Show a place on the map', config: { topic: 'map' } },
 * ]);
 * const sessionId = 'call-42';
 * const eventBus = new EventBus<EventMap>(); // the session's bus, given to the tools and to the session
 * const tools = buildDeclarativeTools(defs, { bus: eventBus, sessionId });
 * const session = new VoiceSession({ sessionId, eventBus, tools, userId: 'u1', model: openai('gpt-4.1-mini'), agents: [{ name: 'main', instructions: 'Help with trips.' }] });
 * ```
 */
export function buildDeclarativeTools(defs: DeclarativeTool[], ctx: DeclarativeToolContext): ToolSet {
  const out: ToolSet = {};
  for (const def of defs) out[def.name] = buildOne(def, ctx);
  return out;
}

function buildOne(def: DeclarativeTool, ctx: DeclarativeToolContext): Tool {
  const inputSchema = jsonSchema<Record<string, unknown>>(
    (def.input_schema as JSONSchema7 | undefined) ?? EMPTY_OBJECT,
  );
  let t: Tool;
  switch (def.kind) {
    case 'client_event':
      t = tool({
        description: def.description,
        inputSchema,
        execute: async (args, options) => {
          // The payload is the LLM's raw arguments object, no envelope (seed 000). The LLM is told the
          // truth: delivered only when a connected client channel takes client events.
          const topic = def.config.topic;
          const run = findToolContext(options);
          const outcome = run
            ? run.clientEvent(topic, args)
            : publishClientEvent(
                { bus: ctx.bus, sessionId: ctx.sessionId, channels: ctx.channels ?? NO_CHANNELS },
                topic,
                args,
                { toolCallId: options.toolCallId },
              );
          return { ...outcome, topic };
        },
      });
      break;
    case 'http': {
      const policy = new AddressPolicy([...(ctx.httpAllow ?? []), ...(def.config.allow ?? [])]);
      t = tool({
        description: def.description,
        inputSchema,
        execute: (args, { abortSignal }) =>
          callHttpTool(def, args, { policy, ...(abortSignal ? { signal: abortSignal } : {}) }),
      });
      break;
    }
    case 'kb': {
      if (!def.config.documents) {
        throw new ConfigError('kb_without_documents', `kb tool "${def.name}" has no documents loaded`);
      }
      const kb = KnowledgeBase.fromDocuments(def.config.documents);
      const topK = def.config.top_k;
      t = tool({
        description: def.description,
        inputSchema: def.input_schema
          ? inputSchema
          : jsonSchema<{ query: string }>({
              type: 'object',
              properties: { query: { type: 'string', description: 'What to look up' } },
              required: ['query'],
            }),
        execute: async (args) => {
          const query =
            (args as { query?: unknown }).query ?? Object.values(args).find((v) => typeof v === 'string');
          if (typeof query !== 'string' || !query.trim()) {
            throw new InvalidInputError('invalid_tool_args', 'kb search needs a non-empty "query" string');
          }
          return { results: await kb.search(query, topK) };
        },
      });
      break;
    }
    case 'client_function':
      t = tool({
        description: def.description,
        inputSchema,
        execute: (args, { toolCallId, abortSignal }) => {
          if (!ctx.callClient) {
            throw new ToolError(
              'client_functions_unavailable',
              `Tool "${def.name}" runs on the client, and no client can run it`,
            );
          }
          return ctx.callClient(
            { toolCallId, name: def.name, args },
            abortSignal ?? new AbortController().signal,
          );
        },
      });
      break;
  }
  return withToolSettings(t, {
    ...(def.timeout_ms ? { timeoutMs: def.timeout_ms } : {}),
    ...(def.execution ? { execution: def.execution } : {}),
  });
}
