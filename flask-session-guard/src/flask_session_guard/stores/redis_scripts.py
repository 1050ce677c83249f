"""The Redis store's Lua scripts: each one reads and writes only its one key.

A script touches ``KEYS[1]`` alone (a session's hash), never a second key, so in a
Redis Cluster it runs on the one node that owns that key's slot: there is no
cross-slot script. Each script checks that the session is still alive before it
writes, so a late write never brings a deleted, revoked or expired session back.

Times travel as Python's shortest exact float text (``repr``): Lua's own
number-to-text conversion keeps only 14 digits, which would round timestamps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Script:
    """A Lua script and the SHA-1 digest that EVALSHA runs it by."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


#: KEYS[1] session; ARGV: now, refresh interval ('' = none), now + idle timeout.
#: The live hash as a flat list (stamped when due), or {} when absent or expired.
GET = Script(
    """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return h end
local e, l, a, r
for i = 1, #h, 2 do
  local f = h[i]
  if f == 'e' then e = i + 1 elseif f == 'l' then l = i + 1 elseif f == 'a' then a = i + 1
  elseif f == 'r' then r = true end
end
local now = tonumber(ARGV[1])
if not (e and l and a) or tonumber(h[e]) <= now then
  redis.call('DEL', KEYS[1])
  return {}
end
if not r and ARGV[2] ~= '' and now - tonumber(h[l]) >= tonumber(ARGV[2]) then
  local expires = ARGV[3]
  if tonumber(expires) > tonumber(h[a]) then expires = h[a] end
  h[l] = ARGV[1]
  h[e] = expires
  redis.call('HSET', KEYS[1], 'l', ARGV[1], 'e', expires)
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((tonumber(expires) - now) * 1000)))
end
return h
"""
)


#: KEYS[1] session; ARGV: ttl ms, then field, value pairs. 1 if made, 0 if taken.
CREATE = Script(
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
)


#: KEYS[1] session; ARGV: now, last activity ('' = no touch), expires at, ttl ms,
#: then (op, field, value) triples with op 's' (set) or 'd' (delete).
#: 1 if written, 0 (nothing written) when the session is gone, revoked or expired.
UPDATE = Script(
    """
local m = redis.call('HMGET', KEYS[1], 'e', 'r')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'l', ARGV[2], 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
for i = 5, #ARGV, 3 do
  if ARGV[i] == 's' then
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HDEL', KEYS[1], ARGV[i + 1])
  end
end
return 1
"""
)


#: KEYS[1] session; ARGV: now, field, '1' if an old value was read, old value,
#: op ('s' or 'd'), new value. 1 written; 0 the field changed meanwhile; -1 gone.
CHECK_AND_SET = Script(
    """
local m = redis.call('HMGET', KEYS[1], 'e', 'r')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return -1 end
local current = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[3] == '1' then
  if current ~= ARGV[4] then return 0 end
elseif current then
  return 0
end
if ARGV[5] == 's' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[6])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
return 1
"""
)


#: KEYS[1] session; ARGV: now, reason ('1' for a plain revocation). 1 if a live
#: session was marked revoked, else 0.
REVOKE = Script(
    """
local m = redis.call('HMGET', KEYS[1], 'e', 'r')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[2])
return 1
"""
)

#: Every script, loaded together at start-up (SCRIPT LOAD).
ALL = (GET, CREATE, UPDATE, CHECK_AND_SET, REVOKE)
