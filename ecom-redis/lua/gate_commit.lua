-- Forget a checkout's admission, keeping its units taken (its order was placed); idempotent.
-- KEYS[1] the checkout's admission hash; KEYS[2] the index of held admissions;
-- KEYS[3..n+2] the products' open units; KEYS[n+3..2n+2] their epochs
-- ARGV[1] the checkout id; ARGV[2..n+1] the product ids, in KEYS order
local n = #ARGV - 1
for i = 1, n do
  local units = redis.call('HGET', KEYS[1], ARGV[i + 1])
  if units then
    if redis.call('DECRBY', KEYS[i + 2], units) <= 0 then
      redis.call('DEL', KEYS[i + 2])
    end
    redis.call('INCR', KEYS[n + 2 + i])
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
