/**
 * `parseConnectPaths` as a table of list → paths or the exact refusal, and `ConnectTokens` on a fake
 * clock: the grant kept (resume only when given), the lifetime to the millisecond, expired grants
 * swept when a token is issued, and the oldest dropped beyond the bound.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionProfile } from './config.ts';
import { DEFAULT_CONNECT_PATHS, parseConnectPaths } from './connect-paths.ts';
import { ConnectTokens } from './connect-tokens.ts';

describe('parseConnectPaths', () => {
  it.each([
    [undefined, ['/connect']],
    ['/a/connect', ['/a/connect']],
    [' /a , /b ,, /a ', ['/a', '/b']],
    [
      ['/x/connect', ' /y '],
      ['/x/connect', '/y'],
    ],
    ['/agent/voice/breeze-buddy/connect', ['/agent/voice/breeze-buddy/connect']],
    ['/a.b/c_d/e~f/g-h/0', ['/a.b/c_d/e~f/g-h/0']],
    ['/sessionsx', ['/sessionsx']],
    ['/wss', ['/wss']],
    [`/${'p'.repeat(199)}`, [`/${'p'.repeat(199)}`]],
    [Array.from({ length: 20 }, (_, i) => `/p${i}`), Array.from({ length: 20 }, (_, i) => `/p${i}`)],
  ])('%j → %j', (value, paths) => {
    expect(parseConnectPaths(value as string | string[] | undefined, 'X')).toEqual(paths);
  });

  it('the default is a copy', () => {
    const paths = parseConnectPaths(undefined, 'X');
    paths.push('/more');
    expect(DEFAULT_CONNECT_PATHS).toEqual(['/connect']);
  });

  const plain = (p: string) =>
    `X: "${p}" is not a plain absolute path (/segment/segment, letters, digits, . _ ~ -)`;
  const own = (p: string) => `X: "${p}" is used by the server itself`;
  it.each([
    ['', 'X: no connect path given'],
    [' , ,', 'X: no connect path given'],
    [[], 'X: no connect path given'],
    [Array.from({ length: 21 }, (_, i) => `/p${i}`), 'X: at most 20 connect paths'],
    ['connect', plain('connect')],
    ['/a//b', plain('/a//b')],
    ['/a/', plain('/a/')],
    ['/a b', plain('/a b')],
    ['/a?b', plain('/a?b')],
    ['/a/./b', plain('/a/./b')],
    ['/a/../b', plain('/a/../b')],
    ['/..', plain('/..')],
    [`/${'p'.repeat(200)}`, plain(`/${'p'.repeat(79)}`)],
    ['/', plain('/')],
    ['/ws', own('/ws')],
    ['/health', own('/health')],
    ['/api/offer', own('/api/offer')],
    ['/playground/app.js', own('/playground/app.js')],
    ['/sessions', own('/sessions')],
    ['/sessions/x', own('/sessions/x')],
    ['/ok, /ws', own('/ws')],
  ])('%j → %s', (value, message) => {
    expect(() => parseConnectPaths(value as string | string[], 'X')).toThrow(
      expect.objectContaining({ code: 'invalid_connect_paths', message }),
    );
  });
});

const profile: SessionProfile = {
  mode: 'agent',
  models: { llm: 'scripted:x', stt: 'pocketsphinx', tts: 'espeak', vad: 'silero' },
  agents: [{ name: 'a', instructions: 'x' }],
  tools: [],
};

describe('ConnectTokens on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a grant is the profile, the requestData, its expiry and the resume given (none without)', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const tokens = new ConnectTokens(5000);
    const plainToken = tokens.issue(profile, { config: 'c' });
    const resumed = tokens.issue(profile, {}, { sessionId: 's-1', handle: 'h' });
    expect(tokens.peek(plainToken)).toStrictEqual({
      profile,
      requestData: { config: 'c' },
      expiresAt: 1_005_000,
    });
    expect(tokens.peek(resumed)).toEqual({
      profile,
      requestData: {},
      expiresAt: 1_005_000,
      resume: { sessionId: 's-1', handle: 'h' },
    });
    expect(tokens.peek('')).toBeUndefined();
    expect(tokens.peek(null)).toBeUndefined();
  });

  it('a token lives ttlMs: taken at its expiry, refused a millisecond later; peeking does not redeem', () => {
    vi.useFakeTimers({ now: 0 });
    const tokens = new ConnectTokens(1000);
    const a = tokens.issue(profile, {});
    const b = tokens.issue(profile, {});
    vi.setSystemTime(1000);
    tokens.issue(profile, {}); // sweeps what expired before now, not what expires now
    expect(tokens.peek(a)).toBeDefined();
    expect(tokens.peek(a)).toBeDefined();
    expect(tokens.consume(a)).toBeDefined();
    expect(tokens.peek(a)).toBeUndefined();
    vi.setSystemTime(1001);
    expect(tokens.consume(b)).toBeUndefined();
  });

  it('the default lifetime is 60 s', () => {
    vi.useFakeTimers({ now: 0 });
    const tokens = new ConnectTokens();
    expect(tokens.peek(tokens.issue(profile, {}))?.expiresAt).toBe(60_000);
  });

  it('issuing sweeps expired tokens: they are not kept', () => {
    vi.useFakeTimers({ now: 0 });
    const tokens = new ConnectTokens(1000);
    for (let i = 0; i < 5; i++) tokens.issue(profile, {});
    vi.setSystemTime(1001);
    const fresh = tokens.issue(profile, {});
    expect((tokens as unknown as { grants: Map<string, unknown> }).grants.size).toBe(1);
    expect(tokens.peek(fresh)).toBeDefined();
  });

  it('beyond maxTokens the oldest are dropped', () => {
    vi.useFakeTimers({ now: 0 });
    const tokens = new ConnectTokens(1000, 2);
    const [a, b, c] = [tokens.issue(profile, {}), tokens.issue(profile, {}), tokens.issue(profile, {})];
    expect([tokens.peek(a), tokens.peek(b), tokens.peek(c)].map(Boolean)).toEqual([false, true, true]);
  });

  it('an expired token peeked is forgotten: it does not hold a place', () => {
    vi.useFakeTimers({ now: 0 });
    const tokens = new ConnectTokens(1000, 2);
    const old = tokens.issue(profile, {});
    const kept = tokens.issue(profile, {});
    vi.setSystemTime(1500);
    expect(tokens.peek(old)).toBeUndefined();
    vi.setSystemTime(0);
    // the clock back: `old` would be live again had it not been deleted
    expect(tokens.peek(old)).toBeUndefined();
    expect(tokens.peek(kept)).toBeDefined();
  });
});
