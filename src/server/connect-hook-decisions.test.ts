/**
 * `resolveConnect` with a connect hook, in process: what the hook is given, each way it can fail
 * (refusal, throw, timeout, invalid decision) as the exact outcome and log line, the bounds of a
 * decision, and how a decision shapes the session profile (configuration, agent, mode, variables,
 * greeting, user id). `ConnectRefusal`'s status bounds and `fillTemplate`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../logger.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import { type ConnectHook, ConnectRefusal, fillTemplate, resolveConnect } from './connect-hook.ts';

function configWith(json: unknown): ServerConfig {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-hook-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(json));
  return loadServerConfig({
    COLLOQUY_CONFIG: file,
    COLLOQUY_LLM: 'openai:gpt-4.1-mini',
    COLLOQUY_STT: 'openai:whisper-1',
    COLLOQUY_TTS: 'espeak',
    COLLOQUY_VAD: 'energy',
  });
}

const CONFIG = () =>
  configWith({
    greeting: 'Hello {{name}}!',
    agents: [
      { name: 'front', instructions: 'Greet {{ name }}, lead {{lead}}, {{unknown}}.' },
      { name: 'back', instructions: 'Back office for {{name}}.' },
    ],
    configurations: {
      sales: {
        mode: 'stream',
        agents: [{ name: 'seller', instructions: 'Sell to {{name}}.' }],
        greeting: 'Buy, {{name}}?',
      },
      quiet: { agents: [{ name: 'mute', instructions: 'Say little.' }] },
      live: { models: { llm: 'openai-realtime:gpt-realtime' } },
    },
  });

/** A logger that keeps its error lines. */
function recorder(): Logger & { errors: unknown[][] } {
  const errors: unknown[][] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => errors.push(args) };
}

const run = (hook: ConnectHook | undefined, requestData: Record<string, unknown> = {}, extra = {}) => {
  const logger = recorder();
  const config = CONFIG();
  return resolveConnect({
    config,
    requestData,
    path: '/agent/connect',
    headers: { 'x-lead': '42' },
    logger,
    ...(hook ? { hook } : {}),
    ...extra,
  }).then((outcome) => ({ outcome, errors: logger.errors }));
};

afterEach(() => {
  vi.useRealTimers();
});

describe('the hook is given the request', () => {
  it('its path, requestData, headers and a live signal', async () => {
    const given: unknown[] = [];
    await run(
      (request) => {
        given.push({ ...request, aborted: request.signal.aborted });
        return undefined;
      },
      { lead_id: 7 },
    );
    expect(given).toEqual([
      {
        path: '/agent/connect',
        requestData: { lead_id: 7 },
        headers: { 'x-lead': '42' },
        signal: expect.any(AbortSignal),
        aborted: false,
      },
    ]);
  });
});

describe('a hook that fails: the outcome and the log', () => {
  it.each([
    [
      'a ConnectRefusal',
      () => Promise.reject(new ConnectRefusal(404, 'Unknown lead')),
      { status: 404, info: 'Unknown lead' },
      0,
    ],
    [
      'a thrown ConnectRefusal',
      () => {
        throw new ConnectRefusal(451, 'Not here');
      },
      { status: 451, info: 'Not here' },
      0,
    ],
    [
      'a thrown error',
      () => {
        throw new Error('db down');
      },
      { status: 500, info: 'Connect hook failed' },
      1,
    ],
    [
      'a rejected promise',
      () => Promise.reject(new TypeError('bad')),
      { status: 500, info: 'Connect hook failed' },
      1,
    ],
  ] as const)('%s → %j', async (_what, hook, answer, logged) => {
    const { outcome, errors } = await run(hook as ConnectHook);
    expect(outcome).toEqual({ ok: false, ...answer });
    expect(errors.map((e) => e[0])).toEqual(logged ? ['connect hook failed'] : []);
    if (logged) expect(errors[0]?.[1]).toBeInstanceOf(Error);
  });

  it('a hook that takes longer than timeoutMs: 503, its signal aborted with the reason, one log line', async () => {
    let signal: AbortSignal | undefined;
    const { outcome, errors } = await run(
      (request) => {
        signal = request.signal;
        return new Promise(() => {});
      },
      {},
      { timeoutMs: 30 },
    );
    expect(outcome).toEqual({ ok: false, status: 503, info: 'Connect hook timed out' });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toEqual(new Error('connect hook took longer than 30 ms'));
    expect(errors).toEqual([['connect hook took longer than 30 ms']]);
  });

  it('the default bound is 5000 ms', async () => {
    vi.useFakeTimers();
    let settled: unknown;
    const done = run(() => new Promise(() => {})).then((r) => {
      settled = r;
    });
    await vi.advanceTimersByTimeAsync(4999);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(settled).toEqual({
      outcome: { ok: false, status: 503, info: 'Connect hook timed out' },
      errors: [['connect hook took longer than 5000 ms']],
    });
  });

  it('a hook that answers in time leaves no timer behind', async () => {
    vi.useFakeTimers();
    const { outcome } = await run(() => ({ agent: 'back' }));
    expect(outcome.ok).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the decision: bounds', () => {
  const INVALID = { ok: false, status: 500, info: 'Connect hook returned an invalid decision' };
  const vars = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`v${i}`, i]));
  it.each([
    [{ agent: '' }, 'agent: '],
    [{ config: '' }, 'config: '],
    [{ config: 'x'.repeat(101) }, 'config: '],
    [{ agent: 'x'.repeat(65) }, 'agent: '],
    [{ mode: 'loud' }, 'mode: '],
    [{ greeting: 'x'.repeat(2001) }, 'greeting: '],
    [{ greeting: 5 }, 'greeting: '],
    [{ variables: { '1st': 'x' } }, 'variables.1st: Invalid key in record'],
    [{ variables: { ['a'.repeat(65)]: 'x' } }, `variables.${'a'.repeat(65)}: Invalid key in record`],
    [{ variables: vars(101) }, 'variables: at most 100 variables'],
    [{ variables: { a: Number.POSITIVE_INFINITY } }, 'variables.a: '],
    [{ variables: { a: 'x'.repeat(2001) } }, 'variables.a: '],
    [{ variables: { a: null } }, 'variables.a: '],
    [{ userId: '' }, 'userId: '],
    [{ userId: 'u'.repeat(201) }, 'userId: '],
    [{ voice: 'x' }, 'Unrecognized key: "voice"'],
    [{ mode: 'loud', userId: '' }, 'mode: '],
    ['a string', 'Invalid input: expected object, received string'],
  ])('%j → 500, the first problem logged', async (decision, logged) => {
    const { outcome, errors } = await run(() => decision as never);
    expect(outcome).toEqual(INVALID);
    expect(errors).toHaveLength(1);
    const line = errors[0]?.[0] as string;
    expect(line.startsWith(`connect hook returned an invalid decision: ${logged}`)).toBe(true);
    expect(line).not.toContain(';');
  });

  it.each([
    [{ greeting: 'x'.repeat(2000) }],
    [{ variables: vars(100) }],
    [{ variables: { ['a'.repeat(64)]: 'x'.repeat(2000), _b: true, c9: -1.5 } }],
    [{ userId: 'u'.repeat(200) }],
    [{ greeting: null }],
    [null],
    [undefined],
  ])('%j is taken', async (decision) => {
    const { outcome, errors } = await run(() => decision as never);
    expect(outcome.ok).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe('the decision: the session it makes', () => {
  const profileOf = async (hook: ConnectHook | undefined, requestData: Record<string, unknown> = {}) => {
    const { outcome } = await run(hook, requestData);
    if (!outcome.ok) throw new Error(`refused: ${outcome.info}`);
    return outcome.profile;
  };

  it('nothing decided: the request and the file decide, the greeting not filled', async () => {
    const profile = await profileOf(() => undefined, { agent: 'back', user_id: 'u-1' });
    expect(profile).toStrictEqual({
      mode: 'agent',
      models: { llm: 'openai:gpt-4.1-mini', stt: 'openai:whisper-1', tts: 'espeak', vad: 'energy' },
      agents: [
        { name: 'front', instructions: 'Greet {{ name }}, lead {{lead}}, {{unknown}}.' },
        { name: 'back', instructions: 'Back office for {{name}}.' },
      ],
      initialAgent: 'back',
      tools: [],
      greeting: 'Hello {{name}}!',
      userId: 'u-1',
    });
    expect(await profileOf(undefined, { agent: 'back', user_id: 'u-1' })).toEqual(profile);
  });

  it('variables fill every agent and the greeting; the hook overrides agent, mode and user id', async () => {
    const profile = await profileOf(
      () => ({ agent: 'back', mode: 'stream', userId: 'lead-42', variables: { name: 'Ada', lead: 42 } }),
      { agent: 'front', mode: 'agent', user_id: 'u-1' },
    );
    expect(profile).toMatchObject({
      mode: 'stream',
      initialAgent: 'back',
      userId: 'lead-42',
      greeting: 'Hello Ada!',
      agents: [
        { name: 'front', instructions: 'Greet Ada, lead 42, {{unknown}}.' },
        { name: 'back', instructions: 'Back office for Ada.' },
      ],
    });
  });

  it("the hook's configuration and greeting replace the request's; null removes the greeting", async () => {
    expect(
      await profileOf(
        () => ({ config: 'sales', greeting: 'Welcome back, {{name}}.', variables: { name: 'Bo' } }),
        {
          config: 'quiet',
        },
      ),
    ).toMatchObject({
      mode: 'stream',
      agents: [{ name: 'seller', instructions: 'Sell to Bo.' }],
      greeting: 'Welcome back, Bo.',
    });
    expect(await profileOf(() => ({ config: 'sales' }))).toMatchObject({ greeting: 'Buy, {{name}}?' });
    expect(await profileOf(() => ({ greeting: 'Plain {{name}}' }))).toMatchObject({
      greeting: 'Plain {{name}}',
    });
    const without = await profileOf(() => ({ greeting: null, variables: { name: 'X' } }));
    expect('greeting' in without).toBe(false);
  });

  it('a text chat on a realtime configuration: 400 with the reason, whoever chose it', async () => {
    const info =
      'text_only: this configuration uses a realtime speech-to-speech model, which has no text-only session';
    expect((await run(undefined, { text_only: true, config: 'live' })).outcome).toEqual({
      ok: false,
      status: 400,
      info,
    });
    const byHook = await run(() => ({ config: 'live' }), { text_only: true });
    expect(byHook).toEqual({ outcome: { ok: false, status: 400, info }, errors: [] });
  });

  it('an unknown choice: the client gets 400 naming it; the hook is logged and the client told 500', async () => {
    expect((await run(undefined, { config: 'gone' })).outcome).toEqual({
      ok: false,
      status: 400,
      info: 'No configuration named "gone"',
    });
    expect((await run(() => ({ mode: 'stream' }), { agent: 'ghost' })).outcome).toEqual({
      ok: false,
      status: 400,
      info: 'No agent named "ghost"',
    });
    const byHook = await run(() => ({ agent: 'ghost' }));
    expect(byHook.outcome).toEqual({ ok: false, status: 500, info: 'Server misconfigured' });
    expect(byHook.errors).toEqual([
      [
        'connect hook chose something the config does not have',
        expect.objectContaining({ code: 'unknown_agent' }),
      ],
    ]);
  });
});

describe('ConnectRefusal', () => {
  it.each([399, 500, 200, 404.5, Number.NaN])('status %s is refused as invalid_refusal', (status) => {
    expect(() => new ConnectRefusal(status, 'no')).toThrow(
      expect.objectContaining({
        code: 'invalid_refusal',
        message: `ConnectRefusal status must be 400-499, got ${status}`,
      }),
    );
  });

  it('400 and 499 are taken; the message is kept to 500 characters', () => {
    expect(new ConnectRefusal(400, 'bad')).toMatchObject({
      status: 400,
      code: 'connect_refused',
      message: 'bad',
    });
    const long = new ConnectRefusal(499, 'x'.repeat(600));
    expect(long.status).toBe(499);
    expect(long.message).toBe('x'.repeat(500));
  });
});

describe('fillTemplate', () => {
  it.each([
    ['Hi {{name}}', { name: 'Ada' }, 'Hi Ada'],
    ['Hi {{  name  }}!', { name: 'Ada' }, 'Hi Ada!'],
    ['{{a}}{{b}}{{a}}', { a: 1, b: true }, '1true1'],
    ['{{missing}} and {{toString}}', { name: 'x' }, '{{missing}} and {{toString}}'],
    ['{{1x}} {{ }} {name}', { '1x': 'y', name: 'z' }, '{{1x}} {{ }} {name}'],
    ['{{_under_9}}', { _under_9: 'ok' }, 'ok'],
  ])('%j with %j → %j', (text, variables, filled) => {
    expect(fillTemplate(text, variables)).toBe(filled);
  });
});
