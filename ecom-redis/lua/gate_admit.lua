-- Admit every line of a checkout or none.
-- KEYS[1]     the checkout's admission hash (product id -> units)
-- KEYS[2..n+1] the products' counts (all keys share one hash tag)
-- ARGV[1]     seconds to keep the admission record
-- ARGV[2..n+1] units per line; ARGV[n+2..2n+1] product ids, in KEYS order
-- Returns {"admitted"}, {"refused", product} or {"unseeded", product...}.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'admitted'}
end
local n = #KEYS - 1
local missing = {'unseeded'}
for i = 1, n do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    table.insert(missing, ARGV[n + 1 + i])
  end
end
if #missing > 1 then
  return missing
end
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[i + 1])) < tonumber(ARGV[i + 1]) then
    return {'refused', ARGV[n + 1 + i]}
  end
end
for i = 1, n do
  redis.call('DECRBY', KEYS[i + 1], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], ARGV[n + 1 + i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {'admitted'}
