import { describe, expect, it } from 'vitest';
import type { SessionProfile } from './config.ts';
import { ConnectTokens } from './connect-tokens.ts';

const profile: SessionProfile = {
  mode: 'agent',
  models: { llm: 'scripted:x', stt: 'pocketsphinx', tts: 'espeak', vad: 'silero' },
  agents: [{ name: 'a', instructions: 'x' }],
  tools: [],
};

describe('ConnectTokens', () => {
  it('redeems a token once', () => {
    const tokens = new ConnectTokens();
    const t = tokens.issue(profile, { config: 'c' });
    expect(t).toMatch(/^[\w-]{32}$/);
    expect(tokens.peek(t)?.requestData).toEqual({ config: 'c' });
    expect(tokens.consume(t)?.profile).toBe(profile);
    expect(tokens.consume(t)).toBeUndefined();
    expect(tokens.consume(undefined)).toBeUndefined();
    expect(tokens.consume('forged')).toBeUndefined();
  });

  it('refuses expired tokens and bounds how many are outstanding', () => {
    const expired = new ConnectTokens(-1);
    expect(expired.consume(expired.issue(profile, {}))).toBeUndefined();
    const small = new ConnectTokens(60_000, 2);
    const first = small.issue(profile, {});
    small.issue(profile, {});
    small.issue(profile, {});
    expect(small.peek(first)).toBeUndefined();
  });
});
