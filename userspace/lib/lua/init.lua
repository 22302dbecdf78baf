-- Start-up: record the schema and bring the restricted ports in line with the config.
-- ARGV: schema, restricted ports...
redis.call('HSET', P .. 'meta', 'schema', ARGV[1])
local want = {}
for i = 2, #ARGV do
	want[ARGV[i]] = true
end
for _, port in ipairs(redis.call('SMEMBERS', P .. 'restricted')) do
	if not want[port] then
		redis.call('SREM', P .. 'restricted', port)
		for _, proto in ipairs({'tcp', 'udp'}) do
			if redis.call('EXISTS', port_key(proto, port)) == 0 then
				redis.call('SETBIT', P .. 'used:' .. proto, port, 0)
			end
		end
	end
end
local changed = 0
for port in pairs(want) do
	changed = changed + redis.call('SADD', P .. 'restricted', port)
	redis.call('SETBIT', P .. 'used:tcp', port, 1)
	redis.call('SETBIT', P .. 'used:udp', port, 1)
end
if changed > 0 then
	bump('restricted')
end
return {200, 'init', redis.call('GET', P .. 'rev') or '0'}
