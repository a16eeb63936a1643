import { describe, expect, it } from 'vitest';
import { interruptReasonOf } from '../pipeline/speech-response.ts';
import { INTERRUPT_REASONS, isInterruptReason } from './events.ts';

describe('interrupt reasons', () => {
  it('are one list: each is recognised and kept as an abort reason; anything else reads as interrupted', () => {
    expect(INTERRUPT_REASONS).toEqual(['user_speaking', 'interrupted', 'client_request', 'disconnected']);
    for (const reason of INTERRUPT_REASONS) {
      expect(isInterruptReason(reason)).toBe(true);
      expect(interruptReasonOf(reason)).toBe(reason);
    }
    for (const other of ['user_speaking ', 'USER_SPEAKING', 'timeout', 1, undefined, new Error('x')]) {
      expect(isInterruptReason(other)).toBe(false);
      expect(interruptReasonOf(other)).toBe('interrupted');
    }
  });
});
