/** Agent definitions: plain objects, validated once when a session is built. */
import type { LanguageModel, StopCondition, ToolSet } from 'ai';
import { AgentError } from '../errors.ts';
import type { RealtimeModel } from '../providers/realtime/types.ts';

export interface AgentDefinition {
  /** Unique name; the transfer tool and events use it. */
  name: string;
  /** System instructions for this agent. */
  instructions: string;
  /** One line on what this agent is for (shown to other agents' transfer tool). */
  description?: string;
  tools?: ToolSet;
  /** Overrides the session's model. */
  model?: LanguageModel;
  /** Overrides the session's realtime speech-to-speech model (sessions run with `realtime`). */
  realtime?: RealtimeModel;
  /** Agents this one may transfer the conversation to (default: every other agent; [] for none). */
  transfers?: string[];
  /** Agents this one may hand background work to, each through a `handoff_to_<name>` tool. */
  subagents?: string[];
  /** As a subagent: gets the `ask_user` tool to ask the user through the client (default true). */
  askUser?: boolean;
  /** TTS voice for this agent's speech. */
  voice?: string;
  /** Overrides the session's stop condition for multi-step tool calling. */
  stopWhen?: StopCondition<ToolSet> | Array<StopCondition<ToolSet>>;
}

/**
 * Identity helper that types and validates an agent definition.
 *
 * @example
 * ```ts
 * import { defineAgent } from 'colloquy';
 *
 * const frontDesk = defineAgent({
 *   name: 'front_desk',
 *   instructions: 'Greet guests and hand billing questions to the billing agent.',
 *   transfers: ['billing'],
 * });
 * ```
 */
export function defineAgent<const T extends AgentDefinition>(definition: T): T {
  validateAgent(definition);
  return definition;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function validateAgent(a: AgentDefinition): void {
  if (!a || typeof a !== 'object')
    throw new AgentError('invalid_agent', 'An agent definition must be an object');
  if (typeof a.name !== 'string' || !NAME.test(a.name)) {
    throw new AgentError('invalid_agent', `Agent name must match ${NAME} (got ${JSON.stringify(a.name)})`);
  }
  if (typeof a.instructions !== 'string') {
    throw new AgentError('invalid_agent', `Agent "${a.name}" needs string instructions`);
  }
}

/** Validate a set of agents and return them by name. */
export function indexAgents(agents: AgentDefinition[]): Map<string, AgentDefinition> {
  if (!Array.isArray(agents) || agents.length === 0) {
    throw new AgentError('no_agents', 'A session needs at least one agent');
  }
  const byName = new Map<string, AgentDefinition>();
  for (const a of agents) {
    validateAgent(a);
    if (byName.has(a.name)) throw new AgentError('duplicate_agent', `Two agents are named "${a.name}"`);
    byName.set(a.name, a);
  }
  for (const a of agents) {
    for (const target of [...(a.transfers ?? []), ...(a.subagents ?? [])]) {
      if (!byName.has(target)) {
        throw new AgentError('unknown_agent', `Agent "${a.name}" refers to unknown agent "${target}"`);
      }
    }
  }
  return byName;
}

export function transferTargets(agent: AgentDefinition, all: Map<string, AgentDefinition>): string[] {
  const list = agent.transfers ?? [...all.keys()];
  return list.filter((n) => n !== agent.name);
}
