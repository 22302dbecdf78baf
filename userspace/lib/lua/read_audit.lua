-- Audit events between two stream ids, oldest first. ARGV: start ('-' or an id, '(' for
-- exclusive), end ('+' or an id), count. Reply: {200, 'audit', id, json, id, json, ...}.
local count = tonumber(ARGV[3])
if not count or count < 1 or count > 10000 then
	return fail(400, 'count', 'expected 1-10000')
end
local out = {200, 'audit'}
for _, entry in ipairs(redis.call('XRANGE', P .. 'audit', ARGV[1], ARGV[2], 'COUNT', count)) do
	out[#out + 1] = entry[1]
	out[#out + 1] = entry[2][2]
end
return out
