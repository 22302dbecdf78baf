-- Releases what no service owns. ARGV: now
local out = {200, 'cleanup'}
local function note(proto, port, why)
	out[#out + 1] = {'protocol', proto, 'host_port', tostring(port), 'why', why}
end
-- Records whose service is gone or no longer lists them.
for _, pp in ipairs(redis.call('SMEMBERS', P .. 'index')) do
	local proto, port = split_pp(pp)
	local cur = redis.call('HMGET', port_key(proto, port), 'service_name', 'port_name')
	if not cur[1] then
		redis.call('SREM', P .. 'index', pp)
	elseif redis.call('HGET', svc_key(cur[1]) .. ':ports', cur[2]) ~= pp then
		release(proto, port)
		note(proto, port, 'service ' .. cur[1] .. ' does not own it')
	end
end
-- Backends whose front port is gone (after the pass above, which may have released fronts).
for _, pp in ipairs(redis.call('SMEMBERS', P .. 'index')) do
	local proto, port = split_pp(pp)
	local cur = redis.call('HMGET', port_key(proto, port), 'service_name', 'port_name',
		'backend_of')
	if cur[3] and not backend_front(proto, port) then
		release(proto, port)
		if redis.call('HGET', svc_key(cur[1]) .. ':ports', cur[2]) == pp then
			redis.call('HDEL', svc_key(cur[1]) .. ':ports', cur[2])
		end
		note(proto, port, 'backend of port ' .. cur[3] .. ', which is gone')
	end
end
-- Service entries that point at no record.
for _, name in ipairs(redis.call('SMEMBERS', P .. 'services')) do
	local ports = redis.call('HGETALL', svc_key(name) .. ':ports')
	for i = 1, #ports, 2 do
		local proto, port = split_pp(ports[i + 1])
		if redis.call('HGET', port_key(proto, port), 'service_name') ~= name then
			redis.call('HDEL', svc_key(name) .. ':ports', ports[i])
			note(proto, port, 'dangling entry ' .. name .. '/' .. ports[i])
		end
	end
end
-- Bits with no record that are not restricted.
for _, proto in ipairs({'tcp', 'udp'}) do
	local used = P .. 'used:' .. proto
	local pos = redis.call('BITPOS', used, 1)
	while pos >= 0 and pos <= 65535 do
		if redis.call('EXISTS', port_key(proto, pos)) == 0 and
			redis.call('SISMEMBER', P .. 'restricted', pos) == 0 then
			redis.call('SETBIT', used, pos, 0)
			note(proto, pos, 'bit set with no allocation')
		end
		if pos == 65535 then
			break
		end
		pos = redis.call('BITPOS', used, 1, pos + 1, 65535, 'BIT')
	end
end
if #out > 2 then
	bump('cleanup', 'released', #out - 2)
end
return out
