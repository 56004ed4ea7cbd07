local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = tonumber(redis.call('GET', KEYS[2]) or '-1')
if seen < tonumber(ARGV[1]) then
  local epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
  redis.call('SET', KEYS[1], math.max(epoch + 1, now, tonumber(ARGV[2]) + 1))
  redis.call('SET', KEYS[2], ARGV[1])
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
