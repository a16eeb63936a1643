/** The session state machine: a state union plus a transition table. Illegal moves throw. */
import type { SessionState } from '../bus/events.ts';
import { SessionStateError } from '../errors.ts';

export type { SessionState };

export const SESSION_TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  created: ['connecting', 'closed'],
  connecting: ['active', 'closed'],
  active: ['transferring', 'reconnecting', 'closed'],
  transferring: ['active', 'closed'],
  reconnecting: ['active', 'closed'],
  closed: [],
};

export function canTransition(from: SessionState, to: SessionState): boolean {
  return SESSION_TRANSITIONS[from].includes(to);
}

export class SessionStateMachine {
  private current: SessionState = 'created';

  constructor(private readonly onChange: (from: SessionState, to: SessionState) => void) {}

  get state(): SessionState {
    return this.current;
  }

  /** Move to `to`, or throw `SessionStateError` (code `illegal_transition`). */
  transition(to: SessionState): void {
    const from = this.current;
    if (!canTransition(from, to)) {
      throw new SessionStateError('illegal_transition', `Illegal session transition ${from} → ${to}`, {
        details: { from, to },
      });
    }
    this.current = to;
    this.onChange(from, to);
  }

  /** Whether the session is in one of the given states (no rest array: called per audio frame). */
  is(a: SessionState, b?: SessionState, c?: SessionState, d?: SessionState): boolean {
    const s = this.current;
    return s === a || s === b || s === c || s === d;
  }
}
