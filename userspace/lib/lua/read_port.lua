-- One port: restricted flag and its record, if any. ARGV: proto, port
return {200, 'check', redis.call('SISMEMBER', P .. 'restricted', ARGV[2]),
	redis.call('HGETALL', port_key(ARGV[1], ARGV[2]))}
