-- All-or-nothing reservation over several counters, atomic because Redis runs a
-- script without interleaving other commands.
--
-- KEYS[i]          counter i
-- ARGV[3i-2..3i]   amount, limit, ttl_ms of counter i
-- Returns {1, value_1, ..., value_n} when every amount was added, or
-- {0, index (0-based), current} for the first counter that would go over its limit.
--
-- Lua numbers are doubles: values and limits are exact up to 2^53, far above any
-- request count or micro-unit budget we keep in a window.

local n = #KEYS
-- Amount already claimed earlier in this call per key, so a key listed twice is
-- checked against the sum of both amounts.
local pending = {}
-- Whether each key existed before this call, so only new keys get an expiry.
local existed = {}

for i = 1, n do
  local key = KEYS[i]
  local amount = tonumber(ARGV[3 * i - 2])
  local limit = tonumber(ARGV[3 * i - 1])
  if existed[key] == nil then
    local raw = redis.call('GET', key)
    existed[key] = raw ~= false
    pending[key] = tonumber(raw or '0')
  end
  local current = pending[key]
  if current + amount > limit then
    return {0, i - 1, current}
  end
  pending[key] = current + amount
end

local out = {1}
local expired = {}
for i = 1, n do
  local key = KEYS[i]
  local ttl = tonumber(ARGV[3 * i])
  out[i + 1] = redis.call('INCRBY', key, ARGV[3 * i - 2])
  if ttl > 0 and not existed[key] and not expired[key] then
    redis.call('PEXPIRE', key, ttl)
    expired[key] = true
  end
end
return out
