-- SPDX-License-Identifier: MIT
-- Prelude shared by every registry script (registry.c prepends it).
-- KEYS[1] is "pg:{HOST}:rev"; every other key of the host shares its prefix and so its
-- Redis Cluster hash slot ({HOST} is the hash tag). Replies are arrays:
--   {status, "error", field, message}  or  {status, kind, record...}
-- where a record is a flat {field, value, ...} list that registry.c turns into JSON.
local P = string.sub(KEYS[1], 1, -4)

local function fail(status, field, msg)
	return {status, 'error', field, msg}
end

local function port_key(proto, port)
	return P .. 'port:' .. proto .. ':' .. port
end

local function svc_key(name)
	return P .. 'service:' .. name
end

-- Appends the change to the stream reconcilers follow, bumps rev and publishes it.
local function bump(op, ...)
	local rev = redis.call('INCR', P .. 'rev')
	redis.call('XADD', P .. 'changes', 'MAXLEN', '~', '10000', '*', 'rev', rev, 'op', op, ...)
	redis.call('PUBLISH', P .. 'changes', rev)
	return rev
end

-- Non-root callers pass the owner token hash they proved in C (CRYPTO_memcmp); the script
-- re-checks it atomically so a service deleted and re-created in between is not touched.
local function owner_ok(svc, owner_hash)
	if owner_hash == '' then
		return true
	end
	return redis.call('HGET', svc, 'owner_token_hash') == owner_hash
end

local function release(proto, port)
	local key = port_key(proto, port)
	local rec = redis.call('HGETALL', key)
	redis.call('DEL', key)
	redis.call('SREM', P .. 'index', proto .. '/' .. port)
	if redis.call('SISMEMBER', P .. 'restricted', port) == 0 then
		redis.call('SETBIT', P .. 'used:' .. proto, port, 0)
	end
	return rec
end

local function split_pp(pp)
	local proto, port = string.match(pp, '^(%a+)/(%d+)$')
	return proto, tonumber(port)
end

-- The port name of the front port whose backend proto/port is, or nil: a record with
-- backend_of whose front, of the same service, names it as its backend_port.
local function backend_front(proto, port)
	local b = redis.call('HMGET', port_key(proto, port), 'service_name', 'backend_of')
	if not b[2] then
		return nil
	end
	local f = redis.call('HMGET', port_key(proto, b[2]), 'service_name', 'port_name',
		'backend_port')
	if f[1] ~= b[1] or tonumber(f[3]) ~= port then
		return nil
	end
	return f[2]
end
