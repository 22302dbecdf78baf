-- ARGV: now, name, owner_hash ('' for root)
local name = ARGV[2]
local svc = svc_key(name)
if redis.call('EXISTS', svc) == 0 then
	return fail(404, 'service_name', 'no service ' .. name)
end
if not owner_ok(svc, ARGV[3]) then
	return fail(403, 'owner_token', 'owner token does not match service ' .. name)
end
local out = {200, 'released', {'service_name', name}}
local ports = redis.call('HGETALL', svc .. ':ports')
for i = 2, #ports, 2 do
	local proto, port = split_pp(ports[i])
	local rec = release(proto, port)
	if #rec > 0 then
		out[#out + 1] = rec
	end
end
redis.call('DEL', svc, svc .. ':ports')
redis.call('SREM', P .. 'services', name)
bump('service-delete', 'service', name)
return out
