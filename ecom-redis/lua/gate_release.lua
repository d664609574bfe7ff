-- Give a checkout's admitted units of some products back; idempotent.
-- KEYS[1] the checkout's admission hash; KEYS[2] the index of held admissions;
-- KEYS[3..n+2] the products' counts; KEYS[n+3..2n+2] their open units
-- ARGV[1] the checkout id; ARGV[2..n+1] the product ids, in KEYS order
local n = #ARGV - 1
for i = 1, n do
  local units = redis.call('HGET', KEYS[1], ARGV[i + 1])
  if units then
    redis.call('HDEL', KEYS[1], ARGV[i + 1])
    if redis.call('EXISTS', KEYS[i + 2]) == 1 then
      redis.call('INCRBY', KEYS[i + 2], units)
    end
    if redis.call('DECRBY', KEYS[n + 2 + i], units) <= 0 then
      redis.call('DEL', KEYS[n + 2 + i])
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
