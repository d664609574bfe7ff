-- Admit every line of a checkout or none.
-- KEYS[1]          the checkout's admission hash (product id -> units)
-- KEYS[2]          the index of held admissions (sorted set: checkout -> admission time, ms)
-- KEYS[3..n+2]     the products' counts; KEYS[n+3..2n+2] their open units (one hash tag)
-- ARGV[1]          the admission time (ms); ARGV[2] the checkout id
-- ARGV[3..n+2]     units per line; ARGV[n+3..2n+2] product ids, in KEYS order
-- Returns {"admitted"}, {"refused", product} or {"unseeded", product...}.
-- The admission has no expiry: the checkout or recovery ends it, and its units stay in the
-- open counts until then.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'admitted'}
end
local n = (#KEYS - 2) / 2
local missing = {'unseeded'}
for i = 1, n do
  if redis.call('EXISTS', KEYS[i + 2]) == 0 then
    table.insert(missing, ARGV[n + 2 + i])
  end
end
if #missing > 1 then
  return missing
end
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[i + 2])) < tonumber(ARGV[i + 2]) then
    return {'refused', ARGV[n + 2 + i]}
  end
end
for i = 1, n do
  redis.call('DECRBY', KEYS[i + 2], ARGV[i + 2])
  redis.call('INCRBY', KEYS[n + 2 + i], ARGV[i + 2])
  redis.call('HINCRBY', KEYS[1], ARGV[n + 2 + i], ARGV[i + 2])
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return {'admitted'}
