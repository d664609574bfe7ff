-- Add units to a product's count if it has one.
-- KEYS[1] the product's count; ARGV[1] units
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return -1
