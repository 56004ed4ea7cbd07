local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local status = 0
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  status = 2
elseif not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  status = 1
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  local epoch = tonumber(redis.call('GET', KEYS[3]) or '0')
  redis.call('SET', KEYS[3], math.max(epoch + 1, now, tonumber(ARGV[3]) + 1))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {status, tonumber(redis.call('GET', KEYS[3]) or '0')}
