//! The Lua scripts of shared admission: each runs atomically in Redis, so a limit,
//! a lease of the sale's rate or a queue change is one round trip that no other node
//! can interleave with.

use redis::Script;

/// GCRA over up to two keys (buyer, address): both must allow, or neither counts.
/// ARGV: interval and tolerance of each key, in ms. Returns wait ms (0 = allowed).
const LIMITS: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local waits = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  if now < tat - tolerance then
    waits = math.max(waits, tat - tolerance - now)
  end
  tats[i] = tat + interval
end
if waits > 0 then return waits end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil(tats[i] - now + tonumber(ARGV[2 * i])) + 1)
end
return 0
"#;

/// Lease up to ARGV[3] tokens of a GCRA rate (interval ARGV[1] µs, tolerance ARGV[2]
/// µs). Returns {granted, wait µs}.
const LEASE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local capacity = math.floor((now + tolerance - tat) / interval) + 1
if capacity <= 0 then return {0, tat - tolerance - now} end
local granted = math.min(want, capacity)
tat = tat + granted * interval
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now + tolerance) / 1000) + 1)
return {granted, 0}
"#;

/// Admit at once (nobody waits and this node holds a token, or leases some), or queue.
/// KEYS: queue, rate, seq, ticket hash, ticket poll key, buyer's ticket, sales.
/// ARGV: has local token (0/1), interval µs, tolerance µs, block, ticket id, sale,
/// user, quantity, lapse ms, retention ms. Returns {1, leased extra} to admit,
/// {0, number in line} when queued. The ticket and the buyer's pointer to it expire
/// after the retention unless polled; the sequence a day after the sale's last
/// ticket.
const ADMIT: &str = r#"
if redis.call('ZCARD', KEYS[1]) == 0 then
  if ARGV[1] == '1' then return {1, 0} end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local interval = tonumber(ARGV[2])
  local tolerance = tonumber(ARGV[3])
  local tat = tonumber(redis.call('GET', KEYS[2]) or now)
  if tat < now then tat = now end
  local capacity = math.floor((now + tolerance - tat) / interval) + 1
  if capacity > 0 then
    local granted = math.min(tonumber(ARGV[4]), capacity)
    tat = tat + granted * interval
    redis.call('SET', KEYS[2], tat, 'PX', math.ceil((tat - now + tolerance) / 1000) + 1)
    return {1, granted - 1}
  end
end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], seq, ARGV[5])
redis.call('HSET', KEYS[4], 'sale', ARGV[6], 'user', ARGV[7], 'quantity', ARGV[8], 'seq', seq,
  'state', '{"status":"waiting"}')
redis.call('PEXPIRE', KEYS[4], ARGV[10])
redis.call('PEXPIRE', KEYS[3], 86400000)
redis.call('SET', KEYS[5], '1', 'PX', ARGV[9])
redis.call('SET', KEYS[6], ARGV[5], 'PX', ARGV[10])
redis.call('SADD', KEYS[7], ARGV[6])
return {0, seq}
"#;

/// Keep a ticket alive and read it. KEYS: ticket hash, poll key, queue, all-held flag.
/// ARGV: ticket id, lapse ms, retention ms, prefix. Returns {state, place in line (0
/// first) or -1, all held 0/1, sale} or nil. The place comes from sequence numbers
/// (the ticket's against the head's), not from ranking the queue.
const POLL: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local sale = redis.call('HGET', KEYS[1], 'sale')
redis.call('PEXPIRE', ARGV[4] .. ':tb:' .. sale .. ':' .. redis.call('HGET', KEYS[1], 'user'), ARGV[3])
local state = redis.call('HGET', KEYS[1], 'state')
local place = -1
local mine = redis.call('ZSCORE', KEYS[3], ARGV[1])
if mine then
  local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  place = tonumber(mine) - tonumber(head[2])
end
local held = redis.call('EXISTS', KEYS[4])
return {state, place, held, sale}
"#;

/// Take the head ticket that is still polled (lapsed ones are marked and dropped),
/// moving it to the processing set. KEYS: queue, processing. ARGV: prefix, lease ms.
/// Returns {ticket, user, quantity} or nil.
const POP: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #head == 0 then return nil end
  local id = head[1]
  redis.call('ZREM', KEYS[1], id)
  local hash = ARGV[1] .. ':t:' .. id
  if redis.call('EXISTS', ARGV[1] .. ':poll:' .. id) == 1 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    return {id, redis.call('HGET', hash, 'user'), redis.call('HGET', hash, 'quantity')}
  end
  redis.call('HSET', hash, 'state', '{"status":"lapsed"}')
end
"#;

/// Put tickets whose processing lease ran out back in the queue at their place.
/// KEYS: queue, processing. ARGV: prefix.
const REQUEUE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[2], id)
  local seq = redis.call('HGET', ARGV[1] .. ':t:' .. id, 'seq')
  if seq then redis.call('ZADD', KEYS[1], seq, id) end
end
return #stale
"#;

/// Record a processed ticket's outcome. KEYS: ticket hash, processing, queue,
/// all-held flag. ARGV: ticket id, state JSON, put back (0/1), all-held ms.
const SETTLE: &str = r#"
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'seq'), ARGV[1])
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'state', ARGV[2])
  redis.call('DEL', KEYS[4])
end
return 1
"#;

/// Every waiting ticket of the sale is sold out. KEYS: queue. ARGV: prefix.
const SELL_OUT: &str = r#"
local waiting = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(waiting) do
  redis.call('HSET', ARGV[1] .. ':t:' .. id, 'state', '{"status":"sold_out"}')
end
redis.call('DEL', KEYS[1])
return #waiting
"#;

/// The scripts, each loaded once and then run by its hash.
pub(crate) struct Scripts {
    pub limits: Script,
    pub lease: Script,
    pub admit: Script,
    pub poll: Script,
    pub pop: Script,
    pub requeue: Script,
    pub settle: Script,
    pub sell_out: Script,
}

impl Scripts {
    pub fn load() -> Self {
        Scripts {
            limits: Script::new(LIMITS),
            lease: Script::new(LEASE),
            admit: Script::new(ADMIT),
            poll: Script::new(POLL),
            pop: Script::new(POP),
            requeue: Script::new(REQUEUE),
            settle: Script::new(SETTLE),
            sell_out: Script::new(SELL_OUT),
        }
    }
}
