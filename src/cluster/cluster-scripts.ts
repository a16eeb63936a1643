/**
 * The cluster's Lua scripts. Each runs atomically in Redis, so two nodes answering connects at the
 * same moment cannot both take a node's last slot. Times come from Redis's own clock (`TIME`), never
 * a node's, so skew between nodes changes nothing.
 *
 * Keys (prefix `colloquy:`): `nodes` (set of node ids), `node:<id>` (hash: url, capacity, live, load,
 * draining; expires unless the node heart-beats), `slots:<id>` (sorted set: slot id → lease expiry,
 * Redis ms; a live session's slot is its id, a reservation's a random id), `session:<id>` (the node a
 * live session runs on), `handle:<hash>` (the session a resume handle belongs to), `fwd:<id>` (a
 * connect one node hands to another: `node|slot|adopt`).
 */
import { createHash } from 'node:crypto';

export interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Reserve a slot on the least-loaded live node that is not draining (fewest used slots for its
 * capacity, then lowest reported load, then id). Forgets nodes whose registration expired.
 * ARGV: prefix, slot id, lease ms, forward id ('' for none), forward ttl ms, adopt session id ('').
 * → {1, node id, node url} or {0, live nodes, full nodes}.
 */
export const RESERVE = script(`${NOW}
local p = ARGV[1]
local best, bestScore, bestLoad, bestUrl
local live, full = 0, 0
for _, id in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  local f = redis.call('HMGET', p .. 'node:' .. id, 'url', 'capacity', 'load', 'draining')
  if not f[1] then
    redis.call('SREM', p .. 'nodes', id)
    redis.call('DEL', p .. 'slots:' .. id)
  elseif f[4] ~= '1' then
    live = live + 1
    local slots = p .. 'slots:' .. id
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    local used = redis.call('ZCARD', slots)
    local cap = tonumber(f[2]) or 0
    if used < cap then
      local score = used / cap
      local load = tonumber(f[3]) or 0
      if not best or score < bestScore or (score == bestScore and (load < bestLoad or (load == bestLoad and id < best))) then
        best, bestScore, bestLoad, bestUrl = id, score, load, f[1]
      end
    else
      full = full + 1
    end
  end
end
if not best then return {0, live, full} end
redis.call('ZADD', p .. 'slots:' .. best, now + tonumber(ARGV[3]), ARGV[2])
if ARGV[4] ~= '' then
  redis.call('SET', p .. 'fwd:' .. ARGV[4], best .. '|' .. ARGV[2] .. '|' .. ARGV[6], 'PX', ARGV[5])
end
return {1, best, bestUrl}`);

/**
 * Register or renew this node, and renew the leases of its live sessions' slots.
 * ARGV: prefix, id, url, capacity, live, load, draining (0|1), node ttl ms, lease ms, session ids…
 * → 1 when the node was registered, 0 when its entry was gone (Redis lost its data, or the node
 * missed its expiry): the node then writes its sessions' directory and handles again.
 */
export const HEARTBEAT = script(`${NOW}
local p = ARGV[1]
local node = p .. 'node:' .. ARGV[2]
local known = redis.call('SISMEMBER', p .. 'nodes', ARGV[2]) == 1 and redis.call('EXISTS', node) == 1
redis.call('HSET', node, 'url', ARGV[3], 'capacity', ARGV[4], 'live', ARGV[5], 'load', ARGV[6], 'draining', ARGV[7])
redis.call('PEXPIRE', node, ARGV[8])
redis.call('SADD', p .. 'nodes', ARGV[2])
local slots = p .. 'slots:' .. ARGV[2]
local lease = now + tonumber(ARGV[9])
for i = 10, #ARGV do redis.call('ZADD', slots, lease, ARGV[i]) end
if known then return 1 end
return 0`);

/**
 * A session started on this node: its reservation (if any) becomes the session's own slot, and the
 * directory says where it runs. ARGV: prefix, node id, reservation ('' for none), session id, lease
 * ms, directory ttl ms.
 */
export const CLAIM = script(`${NOW}
local p = ARGV[1]
local slots = p .. 'slots:' .. ARGV[2]
if ARGV[3] ~= '' then redis.call('ZREM', slots, ARGV[3]) end
redis.call('ZADD', slots, now + tonumber(ARGV[5]), ARGV[4])
redis.call('SET', p .. 'session:' .. ARGV[4], ARGV[2], 'PX', ARGV[6])
return 1`);

/** A slot held by this node for `ms` more (by Redis's clock). ARGV: prefix, node id, slot, ms. */
export const RENEW = script(`${NOW}
redis.call('ZADD', ARGV[1] .. 'slots:' .. ARGV[2], now + tonumber(ARGV[4]), ARGV[3])
return 1`);

/**
 * A session whose node is gone moves to `to`, unless another node took it first.
 * ARGV: prefix, session id, the node it was on ('' when unknown), to, directory ttl ms → 1 or 0.
 */
export const MOVE = script(`local p = ARGV[1]
local key = p .. 'session:' .. ARGV[2]
local at = redis.call('GET', key)
if at and at ~= ARGV[3] then return 0 end
redis.call('SET', key, ARGV[4], 'PX', ARGV[5])
return 1`);

/**
 * Where a resume handle leads: → {session id or false, node id or false, node url or false}.
 * ARGV: prefix, handle hash.
 */
export const LOCATE = script(`local p = ARGV[1]
local sid = redis.call('GET', p .. 'handle:' .. ARGV[2])
if not sid then return {false, false, false} end
local node = redis.call('GET', p .. 'session:' .. sid)
if not node then return {sid, false, false} end
local f = redis.call('HMGET', p .. 'node:' .. node, 'url', 'draining')
if not f[1] then return {sid, node, false} end
return {sid, node, f[1]}`);

export const ALL_SCRIPTS = [RESERVE, HEARTBEAT, CLAIM, RENEW, MOVE, LOCATE];
