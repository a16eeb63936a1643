/**
 * The tool set of one LLM pass: shared and agent tools, the transfer tool (to the agents this one
 * may hand over to), one handoff tool per subagent, all wrapped for events, timeouts and cancellation.
 */
import type { LanguageModel, ToolSet } from 'ai';
import { type AgentDefinition, transferTargets } from '../agents/agent.ts';
import { createHandoffTool, handoffToolName, type SubagentOutcome } from '../agents/subagent.ts';
import type { SubagentUi } from '../agents/subagent-ui.ts';
import {
  assertTransferAllowed,
  createTransferTool,
  TRANSFER_TOOL_NAME,
  type TransferRequest,
} from '../agents/transfer.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { type BackgroundToolResult, type RunningTool, wrapTools } from '../tools/tool-runner.ts';
import type { ClientChannels } from './client-channels.ts';

export interface TurnToolsContext {
  agent: AgentDefinition;
  agents: Map<string, AgentDefinition>;
  sharedTools: ToolSet | undefined;
  model: LanguageModel;
  bus: SessionEventBus;
  sessionId: string;
  turnId: string;
  turnSignal: AbortSignal;
  sessionSignal: AbortSignal;
  running: Map<string, RunningTool>;
  toolTimeoutMs: number;
  /** Set by the transfer tool; the session performs the transfer after the step. */
  transfer: { request?: TransferRequest };
  onSubagentDone: (outcome: SubagentOutcome) => void;
  onBackgroundResult: (result: BackgroundToolResult) => void;
  channels: ClientChannels;
  /** The session's subagent UI (subagents ask the user through it). */
  subagentUi?: SubagentUi;
}

export function buildTurnTools(c: TurnToolsContext): ToolSet {
  const { agent, agents } = c;
  const base: ToolSet = { ...(c.sharedTools ?? {}), ...(agent.tools ?? {}) };
  const targets = transferTargets(agent, agents).map((n) => agents.get(n)!);
  if (targets.length > 0) {
    base[TRANSFER_TOOL_NAME] = createTransferTool(targets, (req) => {
      assertTransferAllowed(agent.name, req.toAgent, agents);
      c.transfer.request = req;
    });
  }
  for (const sub of agent.subagents ?? []) {
    base[handoffToolName(sub)] = createHandoffTool({
      bus: c.bus,
      sessionId: c.sessionId,
      agentName: agent.name,
      subagent: agents.get(sub)!,
      model: c.model,
      sessionSignal: c.sessionSignal,
      running: c.running,
      toolTimeoutMs: c.toolTimeoutMs,
      onDone: c.onSubagentDone,
      ...(c.subagentUi ? { ui: c.subagentUi } : {}),
    });
  }
  return wrapTools(base, {
    bus: c.bus,
    sessionId: c.sessionId,
    agentName: agent.name,
    turnId: c.turnId,
    // Read when a tool runs: the turn's signal is made only then.
    get signal() {
      return c.turnSignal;
    },
    sessionSignal: c.sessionSignal,
    running: c.running,
    defaultTimeoutMs: c.toolTimeoutMs,
    onBackgroundResult: c.onBackgroundResult,
    channels: c.channels,
  });
}
