import type { Redis } from 'ioredis';

/**
 * Token buckets in Redis, shared by every replica of a service (the gateway's per-credential and per-partner
 * request limits, the dispatcher's per-endpoint delivery rates). One Lua script takes tokens from several buckets
 * at once (a credential's and its partner's), atomically, with Redis' own clock so replicas' clocks do not
 * matter. A bucket holds at most `capacity` tokens and refills at `capacity` per window.
 *
 * Returns how many tokens were granted (0..want, the same from every bucket) and, per bucket, the tokens
 * left, the ms until one token is available and the ms until it is full again.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = tonumber(ARGV[1])
local n = #KEYS
local tokens = {}
local grant = want
for i = 1, n do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local b = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tk = tonumber(b[1])
  local ts = tonumber(b[2])
  if tk == nil or ts == nil then tk = cap; ts = now end
  tk = math.min(cap, tk + math.max(0, now - ts) * rate)
  tokens[i] = tk
  local avail = math.floor(tk)
  if avail < grant then grant = avail end
end
if grant < 0 then grant = 0 end
local out = { grant }
for i = 1, n do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local tk = tokens[i] - grant
  redis.call('HSET', KEYS[i], 't', tostring(tk), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate) + 1000)
  local toOne = 0
  if tk < 1 then toOne = math.ceil((1 - tk) / rate) end
  out[#out + 1] = math.floor(tk)
  out[#out + 1] = toOne
  out[#out + 1] = math.ceil((cap - tk) / rate)
end
return out
`;

export interface BucketSpec {
  key: string;
  capacity: number;
  windowMs: number;
}

/** A bucket that refills at `ratePerS` and holds one second's worth (at least one token). */
export function perSecondBucket(key: string, ratePerS: number): BucketSpec {
  const capacity = Math.max(1, ratePerS);
  return { key, capacity, windowMs: (capacity * 1000) / ratePerS };
}

export interface BucketState {
  remaining: number;
  msToOne: number;
  msToFull: number;
}

export interface TakeResult {
  granted: number;
  buckets: BucketState[];
}

type WithTake = Redis & { pepTakeTokens(numKeys: number, ...args: (string | number)[]): Promise<number[]> };

export function tokenBuckets(redis: Redis) {
  const r = redis as WithTake;
  if (typeof r.pepTakeTokens !== 'function') redis.defineCommand('pepTakeTokens', { lua: TAKE });
  return {
    /** Takes up to `want` tokens from every bucket at once (the same number from each). */
    async take(buckets: BucketSpec[], want: number): Promise<TakeResult> {
      const args: (string | number)[] = [...buckets.map((b) => b.key), want];
      for (const b of buckets) args.push(b.capacity, b.capacity / b.windowMs);
      const out = await r.pepTakeTokens(buckets.length, ...args);
      const states: BucketState[] = buckets.map((_, i) => ({
        remaining: Number(out[1 + i * 3]),
        msToOne: Number(out[2 + i * 3]),
        msToFull: Number(out[3 + i * 3]),
      }));
      return { granted: Number(out[0]), buckets: states };
    },
  };
}
export type TokenBuckets = ReturnType<typeof tokenBuckets>;
