-- ARGV: now, service, owner_hash, port ('' when by purpose), purpose, first, last, proto,
--       bind_address, port_name, container_port, source_token_hash, require_token,
--       allowed_sources, description, allow_restricted, granted_by, busy (comma list),
--       allowed_until (unix time the allowed_sources expire; 0 = never),
--       backend ('' = none, 'auto' = lowest free of backend_first-backend_last, or a port),
--       backend_first, backend_last, backend_purpose
local now, name, owner, want = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local purpose, first, last, proto = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local svc = svc_key(name)
local used = P .. 'used:' .. proto
if redis.call('EXISTS', svc) == 0 then
	return fail(404, 'service_name', 'no service ' .. name)
end
if not owner_ok(svc, owner) then
	return fail(403, 'owner_token', 'owner token does not match service ' .. name)
end
local busy = {}
for p in string.gmatch(ARGV[18], '%d+') do
	busy[tonumber(p)] = true
end

-- Why an explicit port cannot be had ('' when it can), and whether it is a restricted one.
local function taken(port)
	local cur = redis.call('HMGET', port_key(proto, port), 'service_name', 'port_name')
	if cur[1] then
		return string.format('port %d/%s is allocated to %s/%s', port, proto, cur[1], cur[2])
	end
	if redis.call('SISMEMBER', P .. 'restricted', port) == 1 then
		return string.format('port %d is restricted (grant with --allow-restricted, root only)',
			port), true
	end
	if redis.call('GETBIT', used, port) == 1 then
		return string.format('port %d/%s is marked used with no owner (run portgate cleanup)',
			port, proto)
	end
	return ''
end

-- Lowest free port of first..last that no host process listens on and that is not `skip`.
-- BITPOS with an explicit end treats bits past the string's end as set, so the bitmap is
-- kept at its full 65,536 bits.
local function lowest_free(lo, hi, skip)
	if redis.call('STRLEN', used) < 8192 then
		redis.call('SETRANGE', used, 8191, '\0')
	end
	local from = lo
	while from <= hi do
		local pos = redis.call('BITPOS', used, 0, from, hi, 'BIT')
		if pos < 0 or pos > hi then
			return nil
		end
		if not busy[pos] and pos ~= skip then
			return pos
		end
		from = pos + 1
	end
	return nil
end

local port, grant = nil, ''
if want ~= '' then
	port = tonumber(want)
	local why, restricted = taken(port)
	if restricted and ARGV[16] == '1' then
		grant = ARGV[17]
	elseif why ~= '' then
		return fail(409, 'port', why)
	end
else
	port = lowest_free(first, last, nil)
	if not port then
		return fail(409, 'purpose', string.format('no free %s port in %s (%d-%d)', proto,
			purpose, first, last))
	end
end

-- A readable, unique port name: the one asked for must be free.
local ports_key = svc .. ':ports'
local pname = ARGV[10]
if pname ~= '' then
	if redis.call('HEXISTS', ports_key, pname) == 1 then
		return fail(409, 'port_name', 'service ' .. name .. ' already has a port named ' .. pname)
	end
else
	-- "internal_http", then "internal_http-9001": unique in one step, not a search.
	local base = (want == '') and purpose or ('port-' .. port)
	pname = base
	if redis.call('HEXISTS', ports_key, pname) == 1 then
		pname = purpose .. '-' .. port
	end
	local n = 1
	while redis.call('HEXISTS', ports_key, pname) == 1 do
		n = n + 1
		pname = base .. '-' .. port .. '-' .. n
	end
end

-- A token-protected port's backend: where the service really listens, on 127.0.0.1, behind
-- portgate-proxy. Its own record, taken in this same step as the front port.
local bport, bname = nil, nil
if ARGV[20] ~= '' then
	bname = pname .. '.backend'
	if redis.call('HEXISTS', ports_key, bname) == 1 then
		return fail(409, 'port_name', 'service ' .. name .. ' already has a port named ' .. bname)
	end
	if ARGV[20] == 'auto' then
		bport = lowest_free(tonumber(ARGV[21]), tonumber(ARGV[22]), port)
		if not bport then
			return fail(409, 'backend_port', string.format(
				'no free %s port in %s (%s-%s) for the backend', proto, ARGV[23],
				ARGV[21], ARGV[22]))
		end
	else
		bport = tonumber(ARGV[20])
		if bport == port then
			return fail(409, 'backend_port', 'the backend port must differ from the port')
		end
		local why = taken(bport)
		if why ~= '' then
			return fail(409, 'backend_port', 'backend: ' .. why)
		end
	end
end

local cgroup = redis.call('HGET', svc, 'cgroup') or ''
local container = ARGV[11] ~= '' and ARGV[11] or tostring(port)
local rec = {'service_name', name, 'port_name', pname, 'host_port', tostring(port),
	'container_port', container, 'bind_address', ARGV[9], 'protocol', proto,
	'purpose', purpose, 'require_token', ARGV[13], 'allowed_sources', ARGV[14],
	'description', ARGV[15], 'created_at', now, 'restricted_grant', grant ~= '' and '1' or '0',
	'cgroup', cgroup, 'allowed_until', ARGV[19]}
if bport then
	rec[#rec + 1] = 'backend_port'
	rec[#rec + 1] = tostring(bport)
end
-- The hash is in the reply too, for portgated's proxy; the API never shows a *_hash field.
if ARGV[12] ~= '' then
	rec[#rec + 1] = 'source_token_hash'
	rec[#rec + 1] = ARGV[12]
end
redis.call('HSET', port_key(proto, port), unpack(rec))
if grant ~= '' then
	redis.call('HSET', port_key(proto, port), 'granted_by', grant)
	redis.call('XADD', P .. 'grants', 'MAXLEN', '~', '1000', '*', 'port', port, 'protocol',
		proto, 'service', name, 'by', grant)
end
redis.call('SETBIT', used, port, 1)
redis.call('HSET', ports_key, pname, proto .. '/' .. port)
redis.call('SADD', P .. 'index', proto .. '/' .. port)
if not bport then
	bump('port-add', 'service', name, 'port', port, 'protocol', proto)
	return {201, 'port', rec}
end
local brec = {'service_name', name, 'port_name', bname, 'host_port', tostring(bport),
	'container_port', tostring(bport), 'bind_address', '127.0.0.1', 'protocol', proto,
	'purpose', ARGV[23], 'require_token', '0', 'allowed_sources', '',
	'description', 'backend of ' .. pname, 'created_at', now, 'restricted_grant', '0',
	'cgroup', cgroup, 'allowed_until', '0', 'backend_of', tostring(port)}
redis.call('HSET', port_key(proto, bport), unpack(brec))
redis.call('SETBIT', used, bport, 1)
redis.call('HSET', ports_key, bname, proto .. '/' .. bport)
redis.call('SADD', P .. 'index', proto .. '/' .. bport)
bump('port-add', 'service', name, 'port', port, 'protocol', proto, 'backend', bport)
return {201, 'port', rec, brec}
