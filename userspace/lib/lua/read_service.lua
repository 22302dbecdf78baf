-- One service and its port records, sorted by port. ARGV: name
local name = ARGV[1]
local s = redis.call('HMGET', svc_key(name), 'description', 'cgroup', 'created_at')
if not s[3] then
	return fail(404, 'service_name', 'no service ' .. name)
end
local out = {200, 'service', {'service_name', name, 'description', s[1], 'cgroup', s[2] or '',
	'created_at', s[3]}}
local ports = redis.call('HVALS', svc_key(name) .. ':ports')
table.sort(ports, function(a, b)
	local pa, na = split_pp(a)
	local pb, nb = split_pp(b)
	return na < nb or (na == nb and pa < pb)
end)
for _, pp in ipairs(ports) do
	local proto, port = split_pp(pp)
	out[#out + 1] = redis.call('HGETALL', port_key(proto, port))
end
return out
