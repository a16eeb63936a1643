/**
 * `defineTool` is the AI SDK's `tool()` plus Colloquy's per-tool settings: a timeout and the
 * execution mode (`inline`: the turn waits; `background`: the LLM is told the work started and the
 * result arrives later as a notification). Plain AI SDK tools work too, with the session defaults.
 */
import { tool as aiTool, type Tool } from 'ai';
import type { ToolExecution } from '../bus/events.ts';

export interface ToolSettings {
  /** Longest the tool may run before it is aborted and the LLM sees a timeout error. */
  timeoutMs?: number;
  execution?: ToolExecution;
}

const SETTINGS = Symbol.for('colloquy.toolSettings');

type WithSettings = { [SETTINGS]?: ToolSettings };

/**
 * An AI SDK `tool()` with Colloquy's settings: `timeoutMs` (the call fails with `tool_timeout`) and
 * `execution: 'background'` (the agent answers at once; the result arrives later).
 *
 * @example
 * ```ts
 * import { defineTool, toolContext } from 'colloquy';
 * import { z } from 'zod';
 *
 * const bookTable = defineTool({
 *   description: 'Book a table at the hotel restaurant',
 *   inputSchema: z.object({ time: z.string(), guests: z.number().int().min(1) }),
 *   timeoutMs: 5000,
 *   execute: async ({ time, guests }, options) => {
 *     toolContext(options).gui.notify(`Booking for ${guests} at ${time}…`);
 *     return { confirmed: true, time, guests };
 *   },
 * });
 * ```
 */
export function defineTool<INPUT, OUTPUT>(
  definition: Tool<INPUT, OUTPUT> & ToolSettings,
): Tool<INPUT, OUTPUT> {
  const { timeoutMs, execution, ...rest } = definition;
  const t = aiTool(rest as Tool<INPUT, OUTPUT>) as Tool<INPUT, OUTPUT> & WithSettings;
  t[SETTINGS] = { timeoutMs, execution };
  return t;
}

/**
 * @example
 * ```ts
 * import { defineTool, toolSettings } from 'colloquy';
 * import { z } from 'zod';
 *
 * const report = defineTool({
 *   description: 'Build the monthly report',
 *   inputSchema: z.object({ month: z.string() }),
 *   execution: 'background',
 *   timeoutMs: 60_000,
 *   execute: async ({ month }) => ({ month, url: `https://reports.example.com/${month}` }),
 * });
 * console.log(toolSettings(report)); // { timeoutMs: 60000, execution: 'background' }
 * ```
 */
export function toolSettings(t: Tool): ToolSettings {
  return (t as WithSettings)[SETTINGS] ?? {};
}

/**
 * Attach settings to an existing tool object (used by declarative tools).
 *
 * @example
 * ```ts
 * import { withToolSettings } from 'colloquy';
 * import { tool } from 'ai';
 * import { z } from 'zod';
 *
 * // a plain AI SDK tool (from a shared library) given Colloquy's timeout and execution mode
 * const search = tool({
 *   description: 'Search the catalogue',
 *   inputSchema: z.object({ query: z.string() }),
 *   execute: async ({ query }) => ({ results: [query] }),
 * });
 * const bounded = withToolSettings(search, { timeoutMs: 3000, execution: 'inline' });
 * ```
 */
export function withToolSettings<T extends Tool>(t: T, settings: ToolSettings): T {
  (t as T & WithSettings)[SETTINGS] = settings;
  return t;
}
