-- Forget a checkout's admission, keeping its units taken (its order was placed); idempotent.
-- KEYS[1] the checkout's admission hash; KEYS[2] the index of held admissions
-- ARGV[1] the checkout id
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
