/** An RTVI message over the bounds is still answered with its id and type when they are usable. */
import { describe, expect, it } from 'vitest';
import { parseClientMessage } from './messages.ts';

const deep = { a: { b: { c: 1 } } };

describe('parseClientMessage: the id and type of a message over the bounds', () => {
  it.each<[string, unknown, string | undefined]>([
    ['an empty id is no id', '', undefined],
    ['a one-character id', 'x', 'x'],
    ['an id of 128 characters', 'i'.repeat(128), 'i'.repeat(128)],
    ['an id of 129 characters is no id', 'i'.repeat(129), undefined],
    ['a numeric id is no id', 42, undefined],
  ])('%s', (_name, id, expected) => {
    const result = parseClientMessage(
      { label: 'rtvi-ai', type: 'client-message', id, data: deep },
      { maxDepth: 2 },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.kind).toBe('too_deep');
    expect(result.error.messageId).toBe(expected);
    expect(result.error.messageType).toBe('client-message');
    expect(result.error.message).toBe('RTVI message is too deep: JSON is nested deeper than 2 levels');
  });

  it('the type is cut to 64 characters; a non-string type or a non-object value gives none', () => {
    const long = parseClientMessage({ type: 't'.repeat(100), id: 'abc', data: deep }, { maxDepth: 2 });
    expect(!long.ok && [long.error.messageType, long.error.messageId]).toEqual(['t'.repeat(64), 'abc']);
    const numeric = parseClientMessage({ type: 7, id: 'abc', data: deep }, { maxDepth: 2 });
    expect(!numeric.ok && [numeric.error.messageType, numeric.error.messageId]).toEqual([undefined, 'abc']);
    const array = parseClientMessage([[[[1]]]], { maxDepth: 2 });
    expect(!array.ok && [array.error.kind, array.error.messageType, array.error.messageId]).toEqual([
      'too_deep',
      undefined,
      undefined,
    ]);
  });

  it('a text that is not JSON carries neither id nor type', () => {
    const result = parseClientMessage('{"id":"abc","type":"x"');
    expect(!result.ok && [result.error.kind, result.error.message, result.error.messageId]).toEqual([
      'malformed_json',
      'RTVI message is not valid JSON',
      undefined,
    ]);
  });
});

describe('RTVI refusals: exact texts', () => {
  it('an oversized message names the limit it broke; a message without data is refused as missing data', () => {
    const big = parseClientMessage('{"label":"rtvi-ai","type":"send-text","id":"r1"}', { maxBytes: 10 });
    expect(!big.ok && [big.error.kind, big.error.message.startsWith('RTVI message is too large: ')]).toEqual([
      'oversized',
      true,
    ]);
    const noData = parseClientMessage({ label: 'rtvi-ai', type: 'send-text', id: 'r2' });
    expect(!noData.ok && noData.error.message).toBe(
      'Invalid "send-text" data: Invalid input: expected object, received undefined',
    );
  });
});
