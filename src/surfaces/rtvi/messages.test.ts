import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../errors.ts';
import {
  botReadyMessage,
  checkClientVersion,
  errorMessage,
  errorResponseMessage,
  parseClientMessage,
  protocolErrorReply,
  RtviProtocolError,
  rtviMessage,
  serverMessage,
  serverResponseMessage,
} from './messages.ts';

/** An envelope as JSON; `id: null` leaves the id out. */
const env = (type: string, data?: unknown, id: string | null = 'abcd1234') =>
  JSON.stringify({ label: 'rtvi-ai', type, id: id ?? undefined, data });

/** What `RTVIMessage.clientReady()` of client-js 1.13.1 sends. */
const clientReady = {
  version: '2.1.0',
  about: {
    library: '@pipecat-ai/client-js',
    library_version: '1.13.1',
    platform_details: { browser: 'Chrome' },
  },
};

function expectError(raw: unknown, kind: string, id?: string) {
  const result = parseClientMessage(raw);
  expect(result.ok).toBe(false);
  if (result.ok) return undefined as never;
  expect(result.error).toBeInstanceOf(RtviProtocolError);
  expect(result.error).toBeInstanceOf(InvalidInputError);
  expect(result.error.kind).toBe(kind);
  expect(result.error.code).toBe(`rtvi_${kind}`);
  expect(result.error.messageId).toBe(id);
  // The error's details say the same, for logs and the client's error message.
  expect(result.error.details).toEqual({ kind, messageId: id, messageType: result.error.messageType });
  return result.error;
}

describe('parseClientMessage: every message the client sends', () => {
  it.each([
    ['client-ready', clientReady, clientReady],
    [
      'send-text',
      { content: 'hi', options: { run_immediately: true } },
      { content: 'hi', options: { run_immediately: true } },
    ],
    ['send-text', { content: 'hi', options: {} }, { content: 'hi', options: {} }],
    ['client-message', { t: 'tts-speak', d: { text: 'Hello' } }, { t: 'tts-speak', d: { text: 'Hello' } }],
    ['client-message', { t: 'ping' }, { t: 'ping' }],
    [
      'llm-function-call-result',
      {
        function_name: 'get_weather',
        tool_call_id: 'call_1',
        arguments: { city: 'Paris' },
        result: { temp: 21 },
      },
      {
        function_name: 'get_weather',
        tool_call_id: 'call_1',
        arguments: { city: 'Paris' },
        result: { temp: 21 },
      },
    ],
    [
      'llm-function-call-result',
      { function_name: 'f', tool_call_id: 'c', arguments: {}, result: 'done' },
      { function_name: 'f', tool_call_id: 'c', arguments: {}, result: 'done' },
    ],
    ['disconnect-bot', {}, {}],
    ['dtmf', { buttons: ['1', '2', '#'] }, { buttons: ['1', '2', '#'] }],
    ['dtmf', { button: '*' }, { buttons: ['*'] }],
    [
      'raw-audio',
      { base64Audio: 'AAAA', sampleRate: 16000, numChannels: 1 },
      { base64Audio: 'AAAA', sampleRate: 16000, numChannels: 1 },
    ],
    ['ui-event', { event: 'clicked', payload: { x: 1 } }, { event: 'clicked', payload: { x: 1 } }],
    ['ui-cancel-job-group', { job_id: 'j1' }, { job_id: 'j1' }],
    [
      'append-to-context',
      { role: 'user', content: 'hey', run_immediately: false },
      { role: 'user', content: 'hey', run_immediately: false },
    ],
  ])('%s is accepted and typed', (type, data, expected) => {
    const result = parseClientMessage(env(type, data));
    expect(result).toEqual({ ok: true, message: { type, id: 'abcd1234', data: expected } });
  });

  it('accepts disconnect-bot without data and messages without id where no answer is needed', () => {
    expect(parseClientMessage(JSON.stringify({ label: 'rtvi-ai', type: 'disconnect-bot' }))).toEqual({
      ok: true,
      message: { type: 'disconnect-bot', id: undefined, data: {} },
    });
    const r = parseClientMessage({ label: 'rtvi-ai', type: 'send-text', data: { content: 'x' } });
    expect(r.ok && r.message.id).toBe(undefined);
  });

  it('accepts an already parsed object', () => {
    const r = parseClientMessage({ label: 'rtvi-ai', type: 'client-ready', id: 'x1', data: clientReady });
    expect(r.ok && r.message.type).toBe('client-ready');
  });
});

describe('parseClientMessage: every bad input is a typed error', () => {
  it('malformed JSON', () => {
    expectError('{"label":"rtvi-ai",', 'malformed_json');
    expectError('', 'malformed_json');
  });

  it('JSON that is not an object', () => {
    for (const raw of ['null', '42', '"text"', '[1,2]', 'true', undefined, null]) {
      expect(expectError(raw, 'not_an_object').message).toBe('RTVI message must be a JSON object');
    }
  });

  it('wrong or missing label, keeping the id for the reply', () => {
    expectError(JSON.stringify({ label: 'other', type: 'send-text', id: 'i1' }), 'wrong_label', 'i1');
    expectError(JSON.stringify({ type: 'send-text', id: 'i2', data: { content: 'x' } }), 'wrong_label', 'i2');
  });

  it('unknown or missing type', () => {
    const e = expectError(env('tts-speak', { text: 'x' }), 'unknown_type', 'abcd1234');
    expect(e.messageType).toBe('tts-speak');
    expect(e.message).toBe('Unsupported RTVI message type "tts-speak"');
    expect(expectError(JSON.stringify({ label: 'rtvi-ai', id: 'i3' }), 'unknown_type', 'i3').message).toBe(
      'RTVI message has no type',
    );
    expectError(JSON.stringify({ label: 'rtvi-ai', type: 7 }), 'unknown_type');
    // Prototype keys are not message types.
    expectError(env('constructor', {}), 'unknown_type', 'abcd1234');
    expectError(env('__proto__', {}), 'unknown_type', 'abcd1234');
  });

  it('missing id where an answer must echo it', () => {
    expectError(env('client-ready', clientReady, null), 'missing_id');
    expectError(env('client-message', { t: 'x' }, null), 'missing_id');
    expectError(env('client-message', { t: 'x' }, ''), 'missing_id');
  });

  it('an id that is not a short string', () => {
    expectError(
      JSON.stringify({ label: 'rtvi-ai', type: 'send-text', id: 5, data: { content: 'x' } }),
      'invalid_data',
    );
    expect(expectError(env('send-text', { content: 'x' }, 'i'.repeat(129)), 'invalid_data').message).toBe(
      'RTVI message id must be a string of 1..128 characters',
    );
    // 128 characters, the longest id, is accepted.
    expect(parseClientMessage(env('send-text', { content: 'x' }, 'i'.repeat(128)))).toMatchObject({
      ok: true,
      message: { id: 'i'.repeat(128) },
    });
  });

  it.each([
    ['client-ready', { version: '2.1.0' }, 'data.about'],
    ['client-ready', { version: 2, about: { library: 'x' } }, 'data.version'],
    ['send-text', {}, 'data.content'],
    ['send-text', { content: 'x', options: { run_immediately: 'yes' } }, 'data.options.run_immediately'],
    ['client-message', { d: 1 }, 'data.t'],
    ['llm-function-call-result', { function_name: 'f', tool_call_id: 'c', arguments: {} }, 'data.result'],
    [
      'llm-function-call-result',
      { function_name: 'f', tool_call_id: 'c', arguments: [], result: 'r' },
      'data.arguments',
    ],
    ['dtmf', { buttons: ['A'] }, 'dtmf'],
    ['dtmf', { buttons: [] }, 'dtmf'],
    ['raw-audio', { base64Audio: 'AA', sampleRate: 1, numChannels: 1 }, 'data.sampleRate'],
    ['ui-event', { payload: 1 }, 'data.event'],
    ['append-to-context', { role: 'system', content: 'x' }, 'data.role'],
    ['send-text', undefined, 'send-text'],
  ])('%s with bad data %j', (type, data, where) => {
    const e = expectError(env(type, data), 'invalid_data', 'abcd1234');
    expect(e.message).toContain(where === type ? `Invalid "${type}" data` : `${where}:`);
  });

  it('oversized input is refused before parsing', () => {
    const big = env('send-text', { content: 'é'.repeat(600_000) });
    expectError(big, 'oversized');
    const small = parseClientMessage(env('send-text', { content: 'x'.repeat(100) }), { maxBytes: 50 });
    expect(!small.ok && small.error.kind).toBe('oversized');
    expect(parseClientMessage(env('send-text', { content: 'é'.repeat(1000) }), { maxBytes: 4000 }).ok).toBe(
      true,
    );
  });

  it('deep input is refused before anything walks it, with the id (text or parsed value)', () => {
    const deep = `${'{"k":'.repeat(6000)}1${'}'.repeat(6000)}`;
    const text = `{"label":"rtvi-ai","type":"llm-function-call-result","id":"deep0001","data":{"function_name":"f","tool_call_id":"t","arguments":{},"result":${deep}}}`;
    const e = expectError(text, 'too_deep', 'deep0001');
    expect(e.code).toBe('rtvi_too_deep');
    expect(e.messageType).toBe('llm-function-call-result');
    expect(e.message).toBe('RTVI message is too deep: JSON is nested deeper than 32 levels');
    expectError(JSON.parse(text), 'too_deep', 'deep0001');
    // Within the bound (the envelope counts as one level).
    const ok = `{"k":`.repeat(20) + '1' + '}'.repeat(20);
    expect(parseClientMessage(env('client-message', { t: 'x', d: JSON.parse(ok) })).ok).toBe(true);
    expect(parseClientMessage(text, { maxDepth: 7000 }).ok).toBe(true);
  });

  it('client-ready of another major version is refused with the id (for error-response)', () => {
    const e = expectError(
      env('client-ready', { ...clientReady, version: '1.0.0' }),
      'unsupported_version',
      'abcd1234',
    );
    expect(e.message).toBe('RTVI protocol 1.0.0 is not supported: this server speaks 2.1.0');
    expect(protocolErrorReply(e)).toEqual({
      label: 'rtvi-ai',
      type: 'error-response',
      id: 'abcd1234',
      data: { error: 'RTVI protocol 1.0.0 is not supported: this server speaks 2.1.0' },
    });
    expectError(env('client-ready', { ...clientReady, version: '3.0.0' }), 'unsupported_version', 'abcd1234');
    expectError(env('client-ready', { ...clientReady, version: 'two' }), 'invalid_data', 'abcd1234');
  });
});

describe('checkClientVersion', () => {
  it('accepts any 2.x', () => {
    expect(checkClientVersion('2.0.0')).toEqual({ ok: true, major: 2, minor: 0, patch: 0 });
    expect(checkClientVersion('2.1.0')).toEqual({ ok: true, major: 2, minor: 1, patch: 0 });
    expect(checkClientVersion('2.9.3-beta.1').ok).toBe(true);
    expect(checkClientVersion('1.4.2').ok).toBe(false);
    expect(checkClientVersion('2.1').ok).toBe(false);
  });

  it('reads parts of up to 4 digits each; a version with anything around it is invalid', () => {
    expect(checkClientVersion('2.10.12')).toEqual({ ok: true, major: 2, minor: 10, patch: 12 });
    expect(checkClientVersion('2.1024.2048+build.7')).toEqual({
      ok: true,
      major: 2,
      minor: 1024,
      patch: 2048,
    });
    expect(checkClientVersion('12.0.0')).toMatchObject({ ok: false, kind: 'unsupported_version' });
    for (const bad of ['v2.1.0', '2.1.0 ', ' 2.1.0', '2.1.0.1', '2.10000.0', '2.1.10000']) {
      expect(checkClientVersion(bad), bad).toEqual({
        ok: false,
        kind: 'invalid_data',
        reason: `Invalid RTVI protocol version "${bad}"`,
      });
    }
  });
});

describe('server → client builders', () => {
  it('build the exact envelopes', () => {
    expect(botReadyMessage('abcd1234', { library: 'colloquy' })).toStrictEqual({
      label: 'rtvi-ai',
      type: 'bot-ready',
      id: 'abcd1234',
      data: { version: '2.1.0', about: { library: 'colloquy' } },
    });
    expect(errorMessage('boom', true)).toStrictEqual({
      label: 'rtvi-ai',
      type: 'error',
      data: { error: 'boom', message: 'boom', fatal: true },
    });
    expect(errorResponseMessage('r1', 'no')).toStrictEqual({
      label: 'rtvi-ai',
      type: 'error-response',
      id: 'r1',
      data: { error: 'no' },
    });
    expect(serverResponseMessage('r2', 'tts-speak', { queued: true })).toStrictEqual({
      label: 'rtvi-ai',
      type: 'server-response',
      id: 'r2',
      data: { t: 'tts-speak', d: { queued: true } },
    });
    // Without `d` the answer has no `d` key (`sendClientRequest` resolves with undefined).
    expect(serverResponseMessage('r3', 'ping')).toStrictEqual({
      label: 'rtvi-ai',
      type: 'server-response',
      id: 'r3',
      data: { t: 'ping' },
    });
    // Without about, bot-ready has no about key.
    expect(botReadyMessage('r4')).toStrictEqual({
      label: 'rtvi-ai',
      type: 'bot-ready',
      id: 'r4',
      data: { version: '2.1.0' },
    });
    expect(errorMessage('oops')).toStrictEqual({
      label: 'rtvi-ai',
      type: 'error',
      data: { error: 'oops', message: 'oops', fatal: false },
    });
    expect(serverMessage('conversation-end', { reason: 'idle_timeout' })).toStrictEqual({
      label: 'rtvi-ai',
      type: 'server-message',
      data: { type: 'conversation-end', data: { reason: 'idle_timeout' } },
    });
    expect(rtviMessage('user-started-speaking')).toStrictEqual({
      label: 'rtvi-ai',
      type: 'user-started-speaking',
    });
    expect(JSON.stringify(rtviMessage('bot-llm-stopped'))).toBe(
      '{"label":"rtvi-ai","type":"bot-llm-stopped"}',
    );
  });

  it('a refused message without id is answered with a non-fatal error', () => {
    const r = parseClientMessage('nope');
    expect(!r.ok && protocolErrorReply(r.error)).toEqual({
      label: 'rtvi-ai',
      type: 'error',
      data: {
        error: 'RTVI message is not valid JSON',
        message: 'RTVI message is not valid JSON',
        fatal: false,
      },
    });
  });
});
