// The response cache's Lua scripts, run atomically by Redis. One copy for the router's own Redis store and for the
// gateway's shared cache (`@unity/llm-router/internal`), so that both evict alike. Redis's clock (TIME) is the only
// clock: routers and replicas with skewed clocks agree. Every key a script touches shares the `{cache}` hash tag, so
// that it stays in one slot on a cluster.

/**
 * Store an answer with its TTL (PX) and index it by expiry in a sorted set; drop index entries that expired, then
 * evict the entries closest to expiry (with one TTL for all: the oldest) while more than the cap remain. With the
 * vectors' keys, the semantic vectors of every answer dropped go with it (no vector outlives its answer).
 * KEYS[1] entry, KEYS[2] index, optional KEYS[3] the vectors' index and KEYS[4] their owners (entry key → vector
 * member, see `addVectorScript`); ARGV[1] value, ARGV[2] TTL (ms), ARGV[3] cap. Returns how many were evicted.
 */
export const responseCacheSetScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local function forget(entry)
  if not KEYS[4] then return end
  local member = redis.call('HGET', KEYS[4], entry)
  if not member then return end
  local cut = string.find(member, '\\n', 1, true)
  redis.call('HDEL', string.sub(member, 1, cut - 1), string.sub(member, cut + 1))
  redis.call('ZREM', KEYS[3], member)
  redis.call('HDEL', KEYS[4], entry)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
if KEYS[4] then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for i = 1, #expired do forget(expired[i]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local victims = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #victims, 2 do
    redis.call('DEL', victims[i])
    forget(victims[i])
  end
  return over
end
return 0
`;

/**
 * Add a vector to its scope's hash (field: the answer's key), to the vectors' expiry index (member `<hash>\n<field>`)
 * and to the owners hash (the answer's entry key → that member, for `responseCacheSetScript`); drop the vectors whose
 * index entry expired, then the oldest beyond the cap. KEYS[1] the scope's hash, KEYS[2] the index, KEYS[3] the
 * owners; ARGV[1] field, ARGV[2] value, ARGV[3] TTL (ms), ARGV[4] cap, ARGV[5] the prefix of entry keys.
 */
export const responseCacheAddVectorScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
local member = KEYS[1] .. '\\n' .. ARGV[1]
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, member)
redis.call('HSET', KEYS[3], ARGV[5] .. ARGV[1], member)
local function drop(members)
  for i = 1, #members do
    local cut = string.find(members[i], '\\n', 1, true)
    local field = string.sub(members[i], cut + 1)
    redis.call('HDEL', string.sub(members[i], 1, cut - 1), field)
    local owner = ARGV[5] .. field
    if redis.call('HGET', KEYS[3], owner) == members[i] then redis.call('HDEL', KEYS[3], owner) end
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  local members = {}
  for i = 1, #popped, 2 do members[#members + 1] = popped[i] end
  drop(members)
end
return 0
`;
