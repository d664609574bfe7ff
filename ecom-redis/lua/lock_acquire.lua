-- Take a lock if it is free and hand out the next fencing token.
-- KEYS[1] lock key, KEYS[2] fence counter key (same hash tag)
-- ARGV[1] owner token, ARGV[2] ttl in milliseconds
-- Returns the fencing token (> 0), or 0 if the lock is held.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
