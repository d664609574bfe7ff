-- Bring a product's count in line with the store's stock, unless the epoch has moved.
-- KEYS[1] the product's count; KEYS[2] its open units; KEYS[3] its epoch;
-- KEYS[4] the index of counted products (sorted set, all scores 0, ordered by id)
-- ARGV[1] the store's stock; ARGV[2] the epoch it was read after; ARGV[3] '1' to set the count
-- exactly when no admission is open; ARGV[4] the product id
-- Returns the count after, or -1 if the epoch moved (nothing changed).
if tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[2]) then
  return -1
end
local open = tonumber(redis.call('GET', KEYS[2]) or '0')
local stock = tonumber(ARGV[1])
local floor = math.max(stock - open, 0)
local count = redis.call('GET', KEYS[1])
local healed
if not count then
  healed = floor
elseif ARGV[3] == '1' and open == 0 then
  healed = stock
else
  healed = math.max(tonumber(count), floor)
end
redis.call('SET', KEYS[1], string.format('%d', healed))
redis.call('ZADD', KEYS[4], 0, ARGV[4])
return healed
