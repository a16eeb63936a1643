import { describe, expect, it } from 'vitest';
import { ColloquyError, InvalidInputError, SessionStateError } from '../../errors.ts';
import {
  AgentDestroyedError,
  ConnectionClosedError,
  InputQueueFullError,
  isWarning,
  messageTypeOf,
} from './errors.ts';

const error = (code: string, messageType?: string) =>
  new InvalidInputError(code as never, 'x', messageType ? { details: { messageType } } : {});

describe('agent errors', () => {
  it('carry their code, message and retryability', () => {
    const destroyed = new AgentDestroyedError('sendText');
    expect(destroyed).toBeInstanceOf(SessionStateError);
    expect([destroyed.code, destroyed.message]).toEqual([
      'agent_destroyed',
      'sendText() was called after destroy(); create a new agent',
    ]);
    expect([new ConnectionClosedError().code, new ConnectionClosedError().message]).toEqual([
      'connection_closed',
      'Connection closed',
    ]);
    expect(new ConnectionClosedError('Agent destroyed').message).toBe('Agent destroyed');
    const full = new InputQueueFullError(8);
    expect(full).toBeInstanceOf(ColloquyError);
    expect([full.code, full.message, full.retryable]).toEqual([
      'input_queue_full',
      'Too many inputs waiting (limit 8); this one was dropped',
      true,
    ]);
  });
});

describe('isWarning', () => {
  it('empty inputs and a full queue are warnings, whatever the message', () => {
    for (const code of ['empty_text', 'empty_audio', 'empty_frame', 'input_queue_full']) {
      expect(isWarning(error(code), undefined), code).toBe(true);
    }
  });

  it('bad data in an audio message is a warning; the same error elsewhere is not', () => {
    for (const code of ['missing_field', 'invalid_field', 'invalid_base64']) {
      expect(isWarning(error(code, 'audio'), undefined), code).toBe(true);
      expect(isWarning(error(code), 'audio'), `${code} (fallback type)`).toBe(true);
      expect(isWarning(error(code, 'transcript'), 'audio'), `${code} in a transcript`).toBe(false);
      expect(isWarning(error(code), undefined), `${code} untyped`).toBe(false);
    }
    expect(isWarning(error('message_too_large', 'audio'), undefined)).toBe(false);
  });
});

describe('messageTypeOf', () => {
  it("the error's own message type first, then the fallback, else none", () => {
    expect(messageTypeOf(error('x', 'video_frame'), 'audio')).toEqual({ messageType: 'video_frame' });
    expect(messageTypeOf(error('x'), 'audio')).toEqual({ messageType: 'audio' });
    expect(messageTypeOf(error('x'), undefined)).toEqual({});
    expect(messageTypeOf(error('x'), '')).toEqual({});
    const odd = new InvalidInputError('x' as never, 'x', { details: { messageType: 42 } });
    expect(messageTypeOf(odd, 'audio')).toEqual({ messageType: 'audio' });
  });
});
