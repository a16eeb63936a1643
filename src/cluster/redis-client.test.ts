/**
 * The Redis client against a real `redis-server` (started here on a loopback port): commands in
 * order, scripts by SHA, a clear error when Redis is unreachable at start, and a lost connection:
 * commands fail at once (never queued), the client reconnects with backoff and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisService, startRedis } from '../../test/support/services.ts';
import { ClusterError } from './cluster-error.ts';
import { parseRedisUrl, RedisClient } from './redis-client.ts';
import { RespErrorReply } from './resp.ts';

let redis: RedisService;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const clientFor = (port: number) =>
  new RedisClient(
    { host: '127.0.0.1', port },
    { backoffMs: { first: 20, max: 200 }, connectTimeoutMs: 1000 },
  );

describe('RedisClient', () => {
  it('parses redis:// URLs and refuses others', () => {
    expect(parseRedisUrl('redis://:s%40cret@10.0.0.5:6380/2')).toEqual({
      host: '10.0.0.5',
      port: 6380,
      password: 's@cret',
      db: 2,
    });
    expect(parseRedisUrl('redis://cache')).toEqual({ host: 'cache', port: 6379 });
    for (const bad of ['http://x', 'redis://h/99', 'not a url', 'redis://h/x']) {
      expect(() => parseRedisUrl(bad)).toThrow(expect.objectContaining({ code: 'invalid_redis_url' }));
    }
  });

  it('runs pipelined commands in order and scripts by SHA (loading them on NOSCRIPT)', async () => {
    const client = clientFor(redis.port);
    await client.connect();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.command(['INCR', 'counter']).then((n) => [i, n])),
    );
    expect(replies.every(([i, n]) => n === (i as number) + 1)).toBe(true);
    await expect(client.command(['LPUSH', 'counter', 'x'])).rejects.toBeInstanceOf(RespErrorReply);
    const script = { source: "return {ARGV[1], redis.call('GET', KEYS[1])}", sha: '' };
    script.sha = (await client.command(['SCRIPT', 'LOAD', script.source])) as string;
    await client.command(['SCRIPT', 'FLUSH']);
    expect(await client.eval(script, ['counter'], ['hi'])).toEqual(['hi', '200']);
    await client.close();
  });

  it('Redis unreachable at start: redis_unreachable naming the address', async () => {
    const port = await freePort();
    const err = await clientFor(port)
      .connect()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ClusterError);
    expect(err).toMatchObject({ code: 'redis_unreachable', retryable: true });
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('Redis lost while running: commands fail at once, it reconnects with backoff and says so', async () => {
    const own = await startRedis();
    const client = clientFor(own.port);
    await client.connect();
    await client.command(['SET', 'k', 'v']);
    const down = new Promise<Error>((r) => client.once('down', r));
    await own.kill();
    expect(await down).toMatchObject({ code: 'redis_unavailable' });
    expect(client.isUp).toBe(false);
    const started = performance.now();
    await expect(client.command(['GET', 'k'])).rejects.toMatchObject({ code: 'redis_unavailable' });
    expect(performance.now() - started).toBeLessThan(100);
    const up = new Promise<void>((r) => client.once('up', () => r()));
    await own.restart();
    await up;
    expect(client.isUp).toBe(true);
    // A new, empty Redis (nothing persisted).
    expect(await client.command(['GET', 'k'])).toBeNull();
    await client.close();
    await own.stop();
  });
});
