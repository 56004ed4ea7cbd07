local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 0 end
local pairs_per_event = tonumber(ARGV[4]) * 2
local i = 5
while i <= #ARGV do
  local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
  for j = 0, pairs_per_event - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call(unpack(args))
  i = i + pairs_per_event
end
redis.call('SET', KEYS[2], ARGV[3])
return 1
