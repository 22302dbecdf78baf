-- Appends audit events (one JSON object each) to the stream pg:{HOST}:audit, capped at about
-- ARGV[1] entries (MAXLEN ~: Redis trims whole nodes, cheaply). ARGV: maxlen, json...
local maxlen = tonumber(ARGV[1])
if not maxlen or maxlen < 1 then
	return fail(400, 'maxlen', 'expected a positive number')
end
local id = ''
for i = 2, #ARGV do
	id = redis.call('XADD', P .. 'audit', 'MAXLEN', '~', maxlen, '*', 'e', ARGV[i])
end
return {200, 'audit', #ARGV - 1, id}
