import { describe, expect, it } from 'vitest';
import { SessionStateError } from '../errors.ts';
import { canTransition, SESSION_TRANSITIONS, SessionStateMachine } from './session-state.ts';

describe('session state machine', () => {
  it.each([
    ['created', 'connecting', true],
    ['created', 'active', false],
    ['connecting', 'active', true],
    ['active', 'transferring', true],
    ['transferring', 'active', true],
    ['active', 'reconnecting', true],
    ['reconnecting', 'active', true],
    ['reconnecting', 'transferring', false],
    ['active', 'closed', true],
    ['closed', 'active', false],
    ['closed', 'closed', false],
  ] as const)('%s → %s allowed: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });

  it('every state can reach closed except closed itself', () => {
    for (const [from, tos] of Object.entries(SESSION_TRANSITIONS)) {
      expect(tos.includes('closed')).toBe(from !== 'closed');
    }
  });

  it('rejects an illegal transition with SessionStateError(illegal_transition) and stays put', () => {
    const moves: string[] = [];
    const m = new SessionStateMachine((f, t) => moves.push(`${f}>${t}`));
    expect(() => m.transition('active')).toThrowError(SessionStateError);
    expect(() => m.transition('transferring')).toThrow(
      expect.objectContaining({ name: 'SessionStateError', code: 'illegal_transition' }),
    );
    expect(m.state).toBe('created');
    m.transition('connecting');
    m.transition('active');
    expect(moves).toEqual(['created>connecting', 'connecting>active']);
  });
});
