/**
 * The connect hook: application code that maps what a client sends to `POST /connect`
 * (`requestData`: a lead id, a user, anything) to the session it gets — the configuration, agent,
 * mode, greeting and variables filled into the agents' instructions (`{{name}}`). It may refuse
 * with a `ConnectRefusal` (a 4xx status and a message the client sees as `{info}`).
 *
 *   startServer({ config, onConnect: async ({ requestData }) => {
 *     const lead = await leads.find(String(requestData.lead_id));
 *     if (!lead) throw new ConnectRefusal(404, 'Unknown lead');
 *     return { agent: 'sales', variables: { name: lead.name }, greeting: `Hello ${lead.name}!` };
 *   }});
 *
 * The hook's result is validated (shape, sizes, names); a hook that throws anything else, returns
 * something invalid or takes longer than `timeoutMs` gives the client a 5xx without details.
 */
import { z } from 'zod';
import { ColloquyError, ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { zodIssueText } from '../zod-issues.ts';
import { type RequestData, resolveProfile, type ServerConfig, type SessionProfile } from './config.ts';

/** What the hook is given. */
export interface ConnectRequest {
  /** The connect path the client posted to (e.g. `/agent/voice/breeze-buddy/connect`). */
  path: string;
  /** The client's `requestData` (a JSON object of at most 64 KiB). */
  requestData: Record<string, unknown>;
  /** Request headers, lower-case names. */
  headers: Readonly<Record<string, string>>;
  /** Aborted when the hook's time is up. */
  signal: AbortSignal;
}

/** What the hook decides; every field is optional (nothing: the request's own choices apply). */
export interface ConnectDecision {
  /** A named configuration of the config file. */
  config?: string;
  /** The first active agent. */
  agent?: string;
  /** `agent` (LLM turns) or `stream` (the app decides what the bot says). */
  mode?: 'agent' | 'stream';
  /** What the bot says first; `null` for no greeting. */
  greeting?: string | null;
  /** Filled into the agents' instructions and the greeting wherever `{{name}}` appears. */
  variables?: Record<string, string | number | boolean>;
  /** The user id of the session (RTVI `user_id`, memory). */
  userId?: string;
}

export type ConnectHook = (
  request: ConnectRequest,
) => ConnectDecision | undefined | Promise<ConnectDecision | undefined>;

/**
 * Thrown by a connect hook to refuse a client: the status (400-499) and `message` reach it as `{info}`.
 *
 * @example
 * ```ts
 * import { ConnectRefusal, loadServerConfig, startServer } from 'colloquy/server';
 *
 * const leads = new Map([['42', { name: 'Ada' }]]);
 * const server = await startServer({
 *   config: loadServerConfig(),
 *   onConnect: async ({ requestData }) => {
 *     const lead = leads.get(String(requestData.lead_id));
 *     if (!lead) throw new ConnectRefusal(404, 'Unknown lead'); // the client gets 404 {info: 'Unknown lead'}
 *     return { agent: 'sales', variables: { name: lead.name }, greeting: `Hello ${lead.name}!` };
 *   },
 * });
 * ```
 */
export class ConnectRefusal extends ColloquyError {
  readonly status: number;
  constructor(status: number, message: string) {
    if (!Number.isInteger(status) || status < 400 || status > 499) {
      throw new ConfigError('invalid_refusal', `ConnectRefusal status must be 400-499, got ${status}`);
    }
    super('connect_refused', message.slice(0, 500));
    this.status = status;
  }
}

const TIMED_OUT = Symbol('timed out');
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const DecisionSchema = z
  .object({
    config: z.string().min(1).max(100).optional(),
    agent: z.string().min(1).max(64).optional(),
    mode: z.enum(['agent', 'stream']).optional(),
    greeting: z.string().max(2000).nullable().optional(),
    variables: z
      .record(
        z.string().regex(NAME, 'variable names are letters, digits and _'),
        z.union([z.string().max(2000), z.number().finite(), z.boolean()]),
      )
      .refine((v) => Object.keys(v).length <= 100, 'at most 100 variables')
      .optional(),
    userId: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Replaces `{{name}}` (spaces allowed inside the braces) by the variable's value; unknown names stay. */
export function fillTemplate(
  text: string,
  variables: Readonly<Record<string, string | number | boolean>>,
): string {
  return text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (whole, name: string) =>
    Object.hasOwn(variables, name) ? String(variables[name]) : whole,
  );
}

export type ConnectOutcome =
  | { ok: true; profile: SessionProfile }
  | { ok: false; status: number; info: string };

export interface ResolveConnectOptions {
  config: ServerConfig;
  requestData: RequestData;
  path: string;
  headers: Record<string, string>;
  hook?: ConnectHook;
  /** Bound on the hook (default 5000 ms). */
  timeoutMs?: number;
  logger: Logger;
}

/** Runs the hook (if any) and resolves the session profile for a connect request. */
export async function resolveConnect(o: ResolveConnectOptions): Promise<ConnectOutcome> {
  let decision: ConnectDecision = {};
  if (o.hook) {
    const ran = await runHook(o);
    if (!ran.ok) return ran;
    decision = ran.decision;
  }
  const request: RequestData = { ...o.requestData };
  if (decision.config !== undefined) request.config = decision.config;
  if (decision.agent !== undefined) request.agent = decision.agent;
  if (decision.mode !== undefined) request.mode = decision.mode;
  let profile: SessionProfile;
  try {
    profile = resolveProfile(o.config, request);
  } catch (err) {
    // What the client asked for cannot be had with this configuration.
    if (err instanceof ConfigError && err.code === 'text_only_unsupported') {
      return { ok: false, status: 400, info: err.message };
    }
    if (err instanceof ConfigError && err.code.startsWith('unknown_')) {
      if (o.hook && (decision.config !== undefined || decision.agent !== undefined)) {
        o.logger.error('connect hook chose something the config does not have', err);
        return { ok: false, status: 500, info: 'Server misconfigured' };
      }
      return { ok: false, status: 400, info: err.message };
    }
    throw err;
  }
  const vars = decision.variables;
  if (vars !== undefined) {
    profile = {
      ...profile,
      agents: profile.agents.map((a) => ({ ...a, instructions: fillTemplate(a.instructions, vars) })),
    };
  }
  if (decision.greeting === null) {
    const { greeting: _dropped, ...rest } = profile;
    profile = rest;
  } else {
    const greeting = decision.greeting ?? profile.greeting;
    if (greeting !== undefined)
      profile = { ...profile, greeting: vars ? fillTemplate(greeting, vars) : greeting };
  }
  if (decision.userId !== undefined) profile = { ...profile, userId: decision.userId };
  return { ok: true, profile };
}

async function runHook(
  o: ResolveConnectOptions,
): Promise<{ ok: true; decision: ConnectDecision } | { ok: false; status: number; info: string }> {
  const hook = o.hook!;
  const timeoutMs = o.timeoutMs ?? 5000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  let result: unknown;
  try {
    result = await Promise.race([
      Promise.resolve().then(() =>
        hook({ path: o.path, requestData: o.requestData, headers: o.headers, signal: controller.signal }),
      ),
      timeout,
    ]);
  } catch (err) {
    if (err instanceof ConnectRefusal) return { ok: false, status: err.status, info: err.message };
    o.logger.error('connect hook failed', err);
    return { ok: false, status: 500, info: 'Connect hook failed' };
  } finally {
    clearTimeout(timer);
  }
  if (result === TIMED_OUT) {
    controller.abort(new Error(`connect hook took longer than ${timeoutMs} ms`));
    o.logger.error(`connect hook took longer than ${timeoutMs} ms`);
    return { ok: false, status: 503, info: 'Connect hook timed out' };
  }
  if (result === undefined || result === null) return { ok: true, decision: {} };
  const parsed = DecisionSchema.safeParse(result);
  if (!parsed.success) {
    o.logger.error(
      `connect hook returned an invalid decision: ${zodIssueText(parsed.error, { first: true })}`,
    );
    return { ok: false, status: 500, info: 'Connect hook returned an invalid decision' };
  }
  return { ok: true, decision: parsed.data as ConnectDecision };
}
