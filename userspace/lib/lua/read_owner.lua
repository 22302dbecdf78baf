-- The owner token hash of a service, for the constant-time check in C. ARGV: name
return {200, 'owner', redis.call('HGET', svc_key(ARGV[1]), 'owner_token_hash') or ''}
