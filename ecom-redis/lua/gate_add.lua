-- Add units to a product's count if it has one, and move its epoch.
-- KEYS[1] the product's count; KEYS[2] its epoch; ARGV[1] units
redis.call('INCR', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return -1
