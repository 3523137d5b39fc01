-- Unconditional additions (reconciling estimates, releasing concurrency slots).
--
-- KEYS[i]          counter i
-- ARGV[2i-1..2i]   delta, ttl_ms of counter i
-- A counter this call creates gets its ttl, so a refund into a window that already
-- expired cannot leave a key behind forever.

for i = 1, #KEYS do
  local key = KEYS[i]
  local ttl = tonumber(ARGV[2 * i])
  local created = ttl > 0 and redis.call('EXISTS', key) == 0
  redis.call('INCRBY', key, ARGV[2 * i - 1])
  if created then
    redis.call('PEXPIRE', key, ttl)
  end
end
return 0
