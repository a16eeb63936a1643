/**
 * Handoffs: a `handoff_to_<name>` tool starts a subagent in the background with its own LLM steps
 * (`agent.handoff`, `subagent.step` per step, `subagent.notification` at the end) while the main
 * agent keeps talking. The result comes back to the session through `onDone`. A subagent can ask
 * the user something through the client with its `ask_user` tool (subagent-ui.ts).
 */
import { generateText, type LanguageModel, stepCountIs, type Tool, type ToolSet, tool } from 'ai';
import { z } from 'zod';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { toColloquyError } from '../errors.ts';
import { type RunningTool, wrapTools } from '../tools/tool-runner.ts';
import type { AgentDefinition } from './agent.ts';
import { ASK_USER_TOOL_NAME, createAskUserTool, type SubagentUi } from './subagent-ui.ts';

export const handoffToolName = (subagent: string): string => `handoff_to_${subagent}`;

export interface SubagentOutcome {
  subagentName: string;
  toolCallId: string;
  event: 'completed' | 'failed' | 'cancelled';
  text: string;
}

export interface HandoffContext {
  bus: SessionEventBus;
  sessionId: string;
  /** The agent that hands off. */
  agentName: string;
  subagent: AgentDefinition;
  model: LanguageModel;
  sessionSignal: AbortSignal;
  running: Map<string, RunningTool>;
  toolTimeoutMs: number;
  maxSteps?: number;
  /** The session's subagent UI: the subagent gets an `ask_user` tool to ask the user through the client. */
  ui?: SubagentUi;
  onDone: (outcome: SubagentOutcome) => void;
}

export function createHandoffTool(
  ctx: HandoffContext,
): Tool<{ task: string }, { status: string; subagent: string }> {
  const { subagent } = ctx;
  return tool({
    description: `Hand a task to the background agent "${subagent.name}"${
      subagent.description ? ` (${subagent.description})` : ''
    }. It works while you keep talking; its result arrives later.`,
    inputSchema: z.object({ task: z.string().min(1).max(4000).describe('What the subagent should do') }),
    execute: async ({ task }, { toolCallId }) => {
      ctx.bus.publish('agent.handoff', {
        sessionId: ctx.sessionId,
        agentName: ctx.agentName,
        subagentName: subagent.name,
        toolCallId,
      });
      void runSubagent(ctx, task, toolCallId);
      return { status: 'started', subagent: subagent.name };
    },
  });
}

async function runSubagent(ctx: HandoffContext, task: string, toolCallId: string): Promise<void> {
  const { subagent, bus, sessionId } = ctx;
  const own: ToolSet = { ...(subagent.tools ?? {}) };
  if (ctx.ui && subagent.askUser !== false && !own[ASK_USER_TOOL_NAME]) {
    own[ASK_USER_TOOL_NAME] = createAskUserTool(ctx.ui, subagent.name);
  }
  const tools: ToolSet = wrapTools(own, {
    bus,
    sessionId,
    agentName: subagent.name,
    signal: ctx.sessionSignal,
    sessionSignal: ctx.sessionSignal,
    running: ctx.running,
    defaultTimeoutMs: ctx.toolTimeoutMs,
  });
  let stepNumber = 0;
  let outcome: SubagentOutcome;
  try {
    const result = await generateText({
      model: subagent.model ?? ctx.model,
      system: subagent.instructions,
      prompt: task,
      tools,
      stopWhen: stepCountIs(ctx.maxSteps ?? 8),
      abortSignal: ctx.sessionSignal,
      onStepFinish: (step) => {
        stepNumber++;
        bus.publish('subagent.step', {
          sessionId,
          subagentName: subagent.name,
          stepNumber,
          toolCalls: step.toolCalls.map((c) => ({
            toolCallId: c.toolCallId,
            toolName: c.toolName,
            args: c.input,
          })),
          tokensUsed:
            step.usage.totalTokens ?? (step.usage.inputTokens ?? 0) + (step.usage.outputTokens ?? 0),
        });
      },
    });
    outcome = { subagentName: subagent.name, toolCallId, event: 'completed', text: result.text };
  } catch (err) {
    if (ctx.sessionSignal.aborted) {
      outcome = { subagentName: subagent.name, toolCallId, event: 'cancelled', text: '' };
    } else {
      const error = toColloquyError(err, 'subagent_failed');
      bus.publish('error', { sessionId, component: `subagent:${subagent.name}`, error, severity: 'error' });
      outcome = { subagentName: subagent.name, toolCallId, event: 'failed', text: error.message };
    }
  }
  bus.publish('subagent.notification', {
    sessionId,
    result: { subagentName: outcome.subagentName, toolCallId, text: outcome.text },
    event: outcome.event,
  });
  ctx.onDone(outcome);
}
