-- ARGV: now, service, owner_hash, port_name
-- Removing a token-protected port releases its backend too; a backend is not removed alone.
local name, pname = ARGV[2], ARGV[4]
local svc = svc_key(name)
if redis.call('EXISTS', svc) == 0 then
	return fail(404, 'service_name', 'no service ' .. name)
end
if not owner_ok(svc, ARGV[3]) then
	return fail(403, 'owner_token', 'owner token does not match service ' .. name)
end
local pp = redis.call('HGET', svc .. ':ports', pname)
if not pp then
	return fail(404, 'port_name', 'service ' .. name .. ' has no port named ' .. pname)
end
local proto, port = split_pp(pp)
local front = backend_front(proto, port)
if front then
	return fail(409, 'port_name', string.format('%s is the backend of %s/%s: remove %s instead',
		pname, name, front, front))
end
local bport = redis.call('HGET', port_key(proto, port), 'backend_port')
local rec = release(proto, port)
redis.call('HDEL', svc .. ':ports', pname)
local out = {200, 'port', rec}
if bport then
	bport = tonumber(bport)
	local b = redis.call('HMGET', port_key(proto, bport), 'service_name', 'port_name', 'backend_of')
	if b[1] == name and tonumber(b[3]) == port then
		out[4] = release(proto, bport)
		redis.call('HDEL', svc .. ':ports', b[2])
	end
end
bump('port-remove', 'service', name, 'port', port, 'protocol', proto)
return out
