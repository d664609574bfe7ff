-- Give a checkout's admitted units of some products back; idempotent.
-- KEYS[1] the checkout's admission hash; KEYS[2] the index of held admissions;
-- KEYS[3..n+2] the products' counts
-- ARGV[1] the checkout id; ARGV[2..n+1] the product ids, in KEYS order
for i = 2, #ARGV do
  local units = redis.call('HGET', KEYS[1], ARGV[i])
  if units then
    redis.call('HDEL', KEYS[1], ARGV[i])
    if redis.call('EXISTS', KEYS[i + 1]) == 1 then
      redis.call('INCRBY', KEYS[i + 1], units)
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
