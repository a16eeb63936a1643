/**
 * Tokens are interchangeable with LiveKit's own server SDK: one minted by `livekit-server-sdk`'s
 * `AccessToken` verifies here, and one minted here passes its `TokenVerifier`.
 */
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { LiveKitTokenError, mintLiveKitToken, verifyLiveKitToken } from './access-token.ts';

const keys = { apiKey: 'APIkey123', apiSecret: 'a-secret-that-is-long-enough-for-hs256-0123' };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LiveKitTokenError);
    return (err as LiveKitTokenError).code;
  }
  throw new Error('expected a refusal');
}

describe('LiveKit access tokens', () => {
  it("accepts a token minted by livekit-server-sdk's AccessToken", async () => {
    const at = new AccessToken(keys.apiKey, keys.apiSecret, { identity: 'alice', name: 'Alice', ttl: 600 });
    at.addGrant({
      roomJoin: true,
      room: 'lobby',
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
    });
    const claims = verifyLiveKitToken(await at.toJwt(), keys);
    expect(claims).toMatchObject({
      iss: keys.apiKey,
      sub: 'alice',
      name: 'Alice',
      video: { roomJoin: true, room: 'lobby', canPublish: true, canSubscribe: true, canPublishData: true },
    });
  });

  it("mints tokens livekit-server-sdk's TokenVerifier accepts, with the LiveKit claim names", async () => {
    const token = mintLiveKitToken(keys, { identity: 'bob', name: 'Bob', room: 'r1', ttlMs: 60_000 });
    const verified = await new TokenVerifier(keys.apiKey, keys.apiSecret).verify(token);
    expect(verified).toMatchObject({
      iss: keys.apiKey,
      sub: 'bob',
      name: 'Bob',
      video: { roomJoin: true, room: 'r1', canPublish: true, canSubscribe: true, canPublishData: true },
    });
    expect(verified.exp! - verified.nbf!).toBe(60);
  });

  it.each([
    ['missing', () => verifyLiveKitToken(undefined, keys), 'token_missing'],
    ['not a JWT', () => verifyLiveKitToken('abc.def', keys), 'token_malformed'],
    [
      'forged (other secret)',
      () =>
        verifyLiveKitToken(
          mintLiveKitToken({ ...keys, apiSecret: 'other' }, { identity: 'x', room: 'r' }),
          keys,
        ),
      'token_bad_signature',
    ],
    [
      'other API key',
      () =>
        verifyLiveKitToken(
          mintLiveKitToken({ ...keys, apiKey: 'OTHER' }, { identity: 'x', room: 'r' }),
          keys,
        ),
      'token_wrong_issuer',
    ],
    [
      'expired',
      () =>
        verifyLiveKitToken(
          mintLiveKitToken(keys, { identity: 'x', room: 'r', ttlMs: 1000, nowMs: Date.now() - 60_000 }),
          keys,
        ),
      'token_expired',
    ],
    [
      'not yet valid',
      () =>
        verifyLiveKitToken(
          mintLiveKitToken(keys, { identity: 'x', room: 'r', nowMs: Date.now() + 120_000 }),
          keys,
        ),
      'token_not_yet_valid',
    ],
    [
      'no room join',
      () =>
        verifyLiveKitToken(
          mintLiveKitToken(keys, { identity: 'x', room: 'r', grant: { roomJoin: false } }),
          keys,
        ),
      'token_no_room_join',
    ],
    ['too long', () => verifyLiveKitToken('a'.repeat(10_000), keys), 'token_malformed'],
  ])('refuses a token that is %s', (_name, fn, code) => {
    expect(refusal(fn)).toBe(code);
  });

  it('refuses an alg=none token and a token whose claims were edited', () => {
    const token = mintLiveKitToken(keys, { identity: 'x', room: 'r' });
    const [, body, sig] = token.split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(refusal(() => verifyLiveKitToken(`${none}.${body}.`, keys))).toBe('token_malformed');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const edited = Buffer.from(
      JSON.stringify({ ...claims, video: { ...claims.video, room: 'other' } }),
    ).toString('base64url');
    expect(refusal(() => verifyLiveKitToken(`${token.split('.')[0]}.${edited}.${sig}`, keys))).toBe(
      'token_bad_signature',
    );
  });
});
