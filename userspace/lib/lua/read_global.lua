-- Every allocation plus both bitmaps and the revision, read in one consistent step.
-- Reply: {200, 'global', used:tcp, used:udp, rev, record...} (REGISTRY_GLOBAL_RECORDS = 5).
local out = {200, 'global', redis.call('GET', P .. 'used:tcp') or '',
	redis.call('GET', P .. 'used:udp') or '', redis.call('GET', P .. 'rev') or '0'}
local index = redis.call('SMEMBERS', P .. 'index')
for _, pp in ipairs(index) do
	local proto, port = split_pp(pp)
	out[#out + 1] = redis.call('HGETALL', port_key(proto, port))
end
return out
