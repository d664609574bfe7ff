-- Admit every line of a checkout or none.
-- KEYS[1]      the checkout's admission hash (product id -> units)
-- KEYS[2]      the index of held admissions (sorted set: checkout -> admission time, ms)
-- KEYS[3..n+2] the products' counts (all keys share one hash tag)
-- ARGV[1]      seconds to keep the admission record; ARGV[2] the admission time (ms)
-- ARGV[3]      the checkout id
-- ARGV[4..n+3] units per line; ARGV[n+4..2n+3] product ids, in KEYS order
-- Returns {"admitted"}, {"refused", product} or {"unseeded", product...}.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'admitted'}
end
local n = #KEYS - 2
local missing = {'unseeded'}
for i = 1, n do
  if redis.call('EXISTS', KEYS[i + 2]) == 0 then
    table.insert(missing, ARGV[n + 3 + i])
  end
end
if #missing > 1 then
  return missing
end
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[i + 2])) < tonumber(ARGV[i + 3]) then
    return {'refused', ARGV[n + 3 + i]}
  end
end
for i = 1, n do
  redis.call('DECRBY', KEYS[i + 2], ARGV[i + 3])
  redis.call('HINCRBY', KEYS[1], ARGV[n + 3 + i], ARGV[i + 3])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return {'admitted'}
