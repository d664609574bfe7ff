-- Take units from a product's count if it has one, never below zero, and move its epoch.
-- KEYS[1] the product's count; KEYS[2] its epoch; ARGV[1] units
-- Returns the count after, or -1 if the product has no count.
redis.call('INCR', KEYS[2])
local count = redis.call('GET', KEYS[1])
if not count then
  return -1
end
local left = math.max(tonumber(count) - tonumber(ARGV[1]), 0)
redis.call('SET', KEYS[1], string.format('%d', left))
return left
