/**
 * The built-in transfer tool: the LLM moves the conversation to another agent. The tool only asks
 * for the transfer; the session performs it after the current LLM step (agent.exit → agent.transfer
 * → agent.enter) and the new agent continues the same turn with the whole conversation.
 */
import { type Tool, tool } from 'ai';
import { z } from 'zod';
import { AgentError } from '../errors.ts';
import type { AgentDefinition } from './agent.ts';

export const TRANSFER_TOOL_NAME = 'transfer_to_agent';

export interface TransferRequest {
  toAgent: string;
  reason?: string;
}

export function createTransferTool(
  targets: AgentDefinition[],
  request: (req: TransferRequest) => void,
): Tool<{ agent: string; reason?: string }, { transferred: true; to: string }> {
  const names = targets.map((t) => t.name) as [string, ...string[]];
  const list = targets.map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ''}`).join('\n');
  return tool({
    description: `Transfer the conversation to another agent when it is better suited to help. Agents:\n${list}`,
    inputSchema: z.object({
      agent: z.enum(names).describe('Name of the agent to transfer to'),
      reason: z.string().max(500).optional().describe('Why the transfer is needed'),
    }),
    execute: async ({ agent, reason }) => {
      request({ toAgent: agent, ...(reason ? { reason } : {}) });
      return { transferred: true as const, to: agent };
    },
  });
}

export function assertTransferAllowed(
  from: string,
  to: string,
  known: ReadonlySet<string> | Map<string, unknown>,
): void {
  if (!known.has(to)) throw new AgentError('unknown_agent', `No agent named "${to}"`, { details: { to } });
  if (from === to) {
    throw new AgentError('transfer_to_self', `Agent "${to}" is already active`, { details: { to } });
  }
}
