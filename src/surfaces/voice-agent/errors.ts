/** Typed errors of the VoiceAgent / VideoAgent surface. */
import { ColloquyError, SessionStateError } from '../../errors.ts';

/**
 * Any call on an agent after `destroy()`.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { AgentDestroyedError, VoiceAgent } from 'colloquy';
 *
 * const agent = new VoiceAgent({ model: openai('gpt-4o'), instructions: 'Be brief.' });
 * agent.destroy();
 * try {
 *   await agent.sendText('Hello?');
 * } catch (err) {
 *   if (err instanceof AgentDestroyedError) console.warn(err.code); // 'agent_destroyed': create a new agent
 * }
 * ```
 */
export class AgentDestroyedError extends SessionStateError {
  constructor(method: string) {
    super('agent_destroyed', `${method}() was called after destroy(); create a new agent`);
  }
}

/**
 * A queued input was dropped because its connection closed (or the agent was destroyed).
 *
 * @example
 * ```ts
 * import { ConnectionClosedError, VoiceAgent } from 'colloquy';
 *
 * async function ask(agent: VoiceAgent, text: string): Promise<string | undefined> {
 *   try {
 *     return await agent.sendText(text);
 *   } catch (err) {
 *     if (err instanceof ConnectionClosedError) return undefined; // the client left before its turn
 *     throw err;
 *   }
 * }
 * ```
 */
export class ConnectionClosedError extends SessionStateError {
  constructor(reason = 'Connection closed') {
    super('connection_closed', reason);
  }
}

/**
 * Too many inputs are waiting; the new one was dropped.
 *
 * @example
 * ```ts
 * import { InputQueueFullError, VoiceAgent } from 'colloquy';
 *
 * async function ask(agent: VoiceAgent, text: string): Promise<string> {
 *   try {
 *     return await agent.sendText(text);
 *   } catch (err) {
 *     // too many inputs were waiting (`maxQueuedInputs`); retryable
 *     if (err instanceof InputQueueFullError) return 'Busy, try again in a moment.';
 *     throw err;
 *   }
 * }
 * ```
 */
export class InputQueueFullError extends ColloquyError {
  constructor(limit: number) {
    super('input_queue_full', `Too many inputs waiting (limit ${limit}); this one was dropped`, {
      retryable: true,
    });
  }
}

/** Rejections the seed calls warnings (non-fatal, nothing to fix server-side). */
const WARNING_CODES = new Set(['empty_text', 'empty_audio', 'empty_frame', 'input_queue_full']);

/** Invalid `audio` messages (missing, non-string or bad base64 data) are warnings too (seed 001). */
const INVALID_AUDIO_CODES = new Set(['missing_field', 'invalid_field', 'invalid_base64']);

export function isWarning(error: ColloquyError, messageType: string | undefined): boolean {
  if (WARNING_CODES.has(error.code)) return true;
  const type = messageTypeOf(error, messageType).messageType;
  return type === 'audio' && INVALID_AUDIO_CODES.has(error.code);
}

export function messageTypeOf(error: ColloquyError, fallback: string | undefined): { messageType?: string } {
  const t = error.details?.messageType;
  const type = typeof t === 'string' ? t : fallback;
  return type ? { messageType: type } : {};
}
