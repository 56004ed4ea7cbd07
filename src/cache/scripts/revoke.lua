local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > now then
    redis.call('SADD', KEYS[2], ARGV[i])
    table.insert(out, ARGV[i])
    table.insert(out, tonumber(score) - now)
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return out
