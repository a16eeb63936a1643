/** Typed errors of the VoiceAgent / VideoAgent surface. */
import { ColloquyError, SessionStateError } from '../../errors.ts';

/** Any call on an agent after `destroy()`. */
export class AgentDestroyedError extends SessionStateError {
  constructor(method: string) {
    super('agent_destroyed', `${method}() was called after destroy(); create a new agent`);
  }
}

/** A queued input was dropped because its connection closed (or the agent was destroyed). */
export class ConnectionClosedError extends SessionStateError {
  constructor(reason = 'Connection closed') {
    super('connection_closed', reason);
  }
}

/** Too many inputs are waiting; the new one was dropped. */
export class InputQueueFullError extends ColloquyError {
  constructor(limit: number) {
    super('input_queue_full', `Too many inputs waiting (limit ${limit}); this one was dropped`, {
      retryable: true,
    });
  }
}
