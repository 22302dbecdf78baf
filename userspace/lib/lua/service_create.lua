-- ARGV: now, name, description, owner_token_hash, cgroup
local name = ARGV[2]
local svc = svc_key(name)
if redis.call('EXISTS', svc) == 1 then
	return fail(409, 'service_name', 'service ' .. name .. ' already exists')
end
redis.call('HSET', svc, 'service_name', name, 'description', ARGV[3], 'owner_token_hash', ARGV[4],
	'cgroup', ARGV[5], 'created_at', ARGV[1])
redis.call('SADD', P .. 'services', name)
bump('service-create', 'service', name)
return {201, 'service', {'service_name', name, 'description', ARGV[3], 'cgroup', ARGV[5],
	'created_at', ARGV[1]}}
