-- Every service, with its port count. ARGV: none
local out = {200, 'services'}
local names = redis.call('SMEMBERS', P .. 'services')
table.sort(names)
for _, name in ipairs(names) do
	local s = redis.call('HMGET', svc_key(name), 'description', 'cgroup', 'created_at')
	out[#out + 1] = {'service_name', name, 'description', s[1] or '', 'cgroup', s[2] or '',
		'created_at', s[3] or '0', 'port_count',
		tostring(redis.call('HLEN', svc_key(name) .. ':ports'))}
end
return out
