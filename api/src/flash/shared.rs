//! Admission shared by every node through Redis (`REDIS_URL`): per-buyer and
//! per-address limits as GCRA in one round trip, the sale's global rate leased to each
//! node in blocks of tokens, and the queue (a sorted set by arrival number, tickets as
//! hashes, a ticket's last poll as a key that expires) so positions are global and
//! tickets survive a restart.
//!
//! All times come from Redis' own clock (`TIME`), so nodes never disagree about them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commands::flash_sales::Purchase;
use commands::{CommandError, CommandService};
use redis::aio::ConnectionManager;
use redis::Script;
use tokio::sync::Semaphore;

use super::admission::{
    queue_metadata, AdmissionError, AdmissionSettings, Admitted, TicketState, TicketView,
    ALL_HELD_RETRY, TICKET_LAPSE, TICKET_RETENTION,
};

/// Queued purchases one node's dispatcher runs at once for a sale.
const DISPATCH_IN_FLIGHT: usize = 64;
/// How long a dispatcher may work on a ticket before another node puts it back.
const PROCESSING_LEASE_MS: u64 = 10_000;

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

pub struct SharedAdmission {
    settings: AdmissionSettings,
    redis: ConnectionManager,
    prefix: String,
    scripts: Scripts,
    /// Tokens of each sale's rate this node holds.
    tokens: Mutex<HashMap<String, u64>>,
    /// Sales this node dispatches.
    dispatching: Mutex<HashSet<String>>,
}

struct Scripts {
    limits: Script,
    lease: Script,
    admit: Script,
    poll: Script,
    pop: Script,
    requeue: Script,
    settle: Script,
    sell_out: Script,
}

fn unavailable(e: redis::RedisError) -> AdmissionError {
    AdmissionError(e.to_string())
}

impl SharedAdmission {
    /// Connect, and resume dispatching every sale that has tickets waiting.
    pub async fn connect(
        url: &str,
        prefix: &str,
        settings: AdmissionSettings,
        service: Arc<CommandService>,
    ) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let redis = client.get_connection_manager().await?;
        let admission = Arc::new(Self {
            settings,
            redis,
            prefix: prefix.to_string(),
            scripts: Scripts {
                limits: Script::new(LIMITS),
                lease: Script::new(LEASE),
                admit: Script::new(ADMIT),
                poll: Script::new(POLL),
                pop: Script::new(POP),
                requeue: Script::new(REQUEUE),
                settle: Script::new(SETTLE),
                sell_out: Script::new(SELL_OUT),
            },
            tokens: Mutex::new(HashMap::new()),
            dispatching: Mutex::new(HashSet::new()),
        });
        let sales: Vec<String> = redis::cmd("SMEMBERS")
            .arg(admission.key("sales"))
            .query_async(&mut admission.redis.clone())
            .await?;
        for sale_id in sales {
            admission.ensure_dispatcher(&sale_id, &service);
        }
        Ok(admission)
    }

    pub fn settings(&self) -> AdmissionSettings {
        self.settings
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The sale's rate as GCRA: (interval µs, tolerance µs, block of tokens a node
    /// leases at once).
    fn rate(&self) -> (u64, u64, u64) {
        let rate = self.settings.rate_per_sale.max(1) as u64;
        let interval = 1_000_000 / rate;
        let burst = (rate / 20).max(1);
        // Blocks of about 10 ms of the rate, so a node's unused tokens are few.
        let block = (rate / 100).max(1);
        (interval.max(1), (burst - 1) * interval, block)
    }

    pub async fn check_limits(
        &self,
        user_id: &str,
        address: Option<IpAddr>,
    ) -> Result<Result<(), u64>, AdmissionError> {
        let per_minute = |n: u32| {
            let interval = 60_000 / n.max(1) as u64;
            (interval, 60_000 - interval)
        };
        let mut invocation = self.scripts.limits.prepare_invoke();
        let (interval, tolerance) = per_minute(self.settings.per_buyer_per_minute);
        invocation
            .key(self.key(&format!("lim:buyer:{user_id}")))
            .arg(interval)
            .arg(tolerance);
        if let Some(address) = address {
            let (interval, tolerance) = per_minute(self.settings.per_address_per_minute);
            invocation
                .key(self.key(&format!("lim:addr:{address}")))
                .arg(interval)
                .arg(tolerance);
        }
        let wait_ms: u64 = invocation
            .invoke_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        Ok(if wait_ms == 0 {
            Ok(())
        } else {
            Err(wait_ms.div_ceil(1000).max(1))
        })
    }

    fn take_local_token(&self, sale_id: &str) -> bool {
        let mut tokens = self.tokens.lock().expect("tokens lock");
        match tokens.get_mut(sale_id) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn add_local_tokens(&self, sale_id: &str, n: u64) {
        if n > 0 {
            *self
                .tokens
                .lock()
                .expect("tokens lock")
                .entry(sale_id.to_string())
                .or_default() += n;
        }
    }

    pub async fn admit(
        self: &Arc<Self>,
        sale_id: &str,
        user_id: &str,
        quantity: u64,
        service: &Arc<CommandService>,
    ) -> Result<Admitted, AdmissionError> {
        let mut redis = self.redis.clone();
        let buyer_key = self.key(&format!("tb:{sale_id}:{user_id}"));
        let existing: Option<String> = redis::cmd("GET")
            .arg(&buyer_key)
            .query_async(&mut redis)
            .await
            .map_err(unavailable)?;
        if let Some(ticket) = existing {
            if let Some(view) = self.poll(sale_id, &ticket).await? {
                match view.state {
                    TicketState::Waiting | TicketState::AllHeld => {
                        return Ok(Admitted::Queued(view))
                    }
                    TicketState::Admitted { .. } => return Ok(Admitted::Now),
                    _ => {}
                }
            }
        }
        let local = self.take_local_token(sale_id);
        let (interval, tolerance, block) = self.rate();
        let ticket = uuid::Uuid::now_v7().simple().to_string();
        let (admitted, extra): (u64, u64) = self
            .scripts
            .admit
            .key(self.key(&format!("q:{sale_id}")))
            .key(self.key(&format!("rate:{sale_id}")))
            .key(self.key(&format!("seq:{sale_id}")))
            .key(self.key(&format!("t:{ticket}")))
            .key(self.key(&format!("poll:{ticket}")))
            .key(&buyer_key)
            .key(self.key("sales"))
            .arg(if local { "1" } else { "0" })
            .arg(interval)
            .arg(tolerance)
            .arg(block)
            .arg(&ticket)
            .arg(sale_id)
            .arg(user_id)
            .arg(quantity)
            .arg(TICKET_LAPSE.as_millis() as u64)
            .arg(TICKET_RETENTION.as_millis() as u64)
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        if admitted == 1 {
            self.add_local_tokens(sale_id, extra);
            return Ok(Admitted::Now);
        }
        if local {
            // Queued behind others: the token was not used; keep it.
            self.add_local_tokens(sale_id, 1);
        }
        self.ensure_dispatcher(sale_id, service);
        let view = self
            .poll(sale_id, &ticket)
            .await?
            .ok_or_else(|| AdmissionError("the ticket vanished".into()))?;
        Ok(Admitted::Queued(view))
    }

    pub async fn poll(
        &self,
        sale_id: &str,
        ticket: &str,
    ) -> Result<Option<TicketView>, AdmissionError> {
        let answer: Option<(String, i64, i64, String)> = self
            .scripts
            .poll
            .key(self.key(&format!("t:{ticket}")))
            .key(self.key(&format!("poll:{ticket}")))
            .key(self.key(&format!("q:{sale_id}")))
            .key(self.key(&format!("allheld:{sale_id}")))
            .arg(ticket)
            .arg(TICKET_LAPSE.as_millis() as u64)
            .arg(TICKET_RETENTION.as_millis() as u64)
            .arg(&self.prefix)
            .invoke_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        let Some((state, rank, all_held, sale)) = answer else {
            return Ok(None);
        };
        if sale != sale_id {
            return Ok(None);
        }
        let mut state: TicketState = serde_json::from_str(&state)
            .map_err(|e| AdmissionError(format!("a ticket does not parse: {e}")))?;
        let position = (rank >= 0).then_some(rank as usize);
        if state == TicketState::Waiting && all_held == 1 {
            state = TicketState::AllHeld;
        }
        let waiting = matches!(state, TicketState::Waiting | TicketState::AllHeld);
        let rate = self.settings.rate_per_sale.max(1) as f64;
        Ok(Some(TicketView {
            ticket: ticket.to_string(),
            position_in_queue: position.filter(|_| waiting).map(|p| p + 1),
            estimated_wait_seconds: position
                .filter(|_| waiting)
                .map(|p| ((p + 1) as f64 / rate * 100.0).ceil() / 100.0),
            state,
        }))
    }

    pub async fn queue_length(&self, sale_id: &str) -> Result<usize, AdmissionError> {
        redis::cmd("ZCARD")
            .arg(self.key(&format!("q:{sale_id}")))
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)
    }

    /// One dispatcher per sale on this node (other nodes run their own; they share
    /// the queue and the rate).
    fn ensure_dispatcher(self: &Arc<Self>, sale_id: &str, service: &Arc<CommandService>) {
        if !self
            .dispatching
            .lock()
            .expect("dispatching lock")
            .insert(sale_id.to_string())
        {
            return;
        }
        let (admission, service, sale_id) = (self.clone(), service.clone(), sale_id.to_string());
        tokio::spawn(async move {
            // Purchases run side by side, taken in queue order at the sale's rate.
            let in_flight = Arc::new(Semaphore::new(DISPATCH_IN_FLIGHT));
            let starved = Arc::new(AtomicBool::new(false));
            let mut changes = service.flash_changes();
            loop {
                if starved.swap(false, Ordering::AcqRel) {
                    // Every unit is held: look again when one is sold or comes back
                    // (or shortly, for one that ran out with nobody telling).
                    changes.borrow_and_update();
                    let _ = tokio::time::timeout(ALL_HELD_RETRY, changes.changed()).await;
                }
                let permit = in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                match admission.take_next(&sale_id).await {
                    Ok(Some(next)) => {
                        let (admission, service, sale_id, starved) = (
                            admission.clone(),
                            service.clone(),
                            sale_id.clone(),
                            starved.clone(),
                        );
                        tokio::spawn(async move {
                            let _permit = permit;
                            match admission.serve(&sale_id, next, &service).await {
                                Ok(true) => starved.store(true, Ordering::Release),
                                Ok(false) => {}
                                Err(e) => {
                                    tracing::warn!(%sale_id, error = %e, "a queued purchase failed; its ticket goes back")
                                }
                            }
                        });
                    }
                    Ok(None) => {
                        drop(permit);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        drop(permit);
                        tracing::warn!(%sale_id, error = %e, "flash-sale dispatch failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }

    /// Wait for a token of the sale's rate (this node's, or a freshly leased block).
    async fn token(&self, sale_id: &str) -> Result<(), AdmissionError> {
        loop {
            if self.take_local_token(sale_id) {
                return Ok(());
            }
            let (interval, tolerance, block) = self.rate();
            let (granted, wait_us): (u64, u64) = self
                .scripts
                .lease
                .key(self.key(&format!("rate:{sale_id}")))
                .arg(interval)
                .arg(tolerance)
                .arg(block)
                .invoke_async(&mut self.redis.clone())
                .await
                .map_err(unavailable)?;
            if granted > 0 {
                self.add_local_tokens(sale_id, granted - 1);
                return Ok(());
            }
            tokio::time::sleep(Duration::from_micros(wait_us.max(100))).await;
        }
    }

    /// Serve the head ticket; `false` when nobody waits.
    /// The head ticket still polled, once a token of the sale's rate is in hand;
    /// `None` when nobody waits.
    async fn take_next(
        &self,
        sale_id: &str,
    ) -> Result<Option<(String, String, u64)>, AdmissionError> {
        let queue = self.key(&format!("q:{sale_id}"));
        let processing = self.key(&format!("proc:{sale_id}"));
        let mut redis = self.redis.clone();
        let _: i64 = self
            .scripts
            .requeue
            .key(&queue)
            .key(&processing)
            .arg(&self.prefix)
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        let waiting: usize = self.queue_length(sale_id).await?;
        if waiting == 0 {
            return Ok(None);
        }
        self.token(sale_id).await?;
        let head: Option<(String, String, u64)> = self
            .scripts
            .pop
            .key(&queue)
            .key(&processing)
            .arg(&self.prefix)
            .arg(PROCESSING_LEASE_MS)
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        if head.is_none() {
            // Someone else took it; the token is this node's to use next.
            self.add_local_tokens(sale_id, 1);
        }
        Ok(head)
    }

    /// Run a ticket's purchase and record the outcome; `true` when every unit was
    /// held and the ticket went back to its place.
    async fn serve(
        &self,
        sale_id: &str,
        (ticket, user_id, quantity): (String, String, u64),
        service: &Arc<CommandService>,
    ) -> Result<bool, AdmissionError> {
        let queue = self.key(&format!("q:{sale_id}"));
        let processing = self.key(&format!("proc:{sale_id}"));
        let mut redis = self.redis.clone();
        let outcome = service
            .purchase_flash_sale(sale_id, &user_id, quantity, &queue_metadata(&user_id))
            .await;
        let (state, put_back) = match outcome {
            Ok(Purchase {
                order_id,
                quantity,
                expires_at,
                position,
            }) => (
                TicketState::Admitted {
                    order_id,
                    quantity,
                    expires_at,
                    position,
                },
                false,
            ),
            Err(CommandError::Refused(r)) if r.code == domain::Refusal::AllHeld => {
                (TicketState::AllHeld, true)
            }
            Err(CommandError::Refused(r)) if r.code == domain::Refusal::SoldOut => {
                (TicketState::SoldOut, false)
            }
            Err(CommandError::Refused(r)) => (
                TicketState::Refused {
                    code: r.code.code().to_string(),
                    detail: r.detail,
                },
                false,
            ),
            Err(other) => {
                // Left in processing: it goes back to its place when the lease ends.
                return Err(AdmissionError(other.to_string()));
            }
        };
        let sold_out = state == TicketState::SoldOut;
        let _: i64 = self
            .scripts
            .settle
            .key(self.key(&format!("t:{ticket}")))
            .key(&processing)
            .key(&queue)
            .key(self.key(&format!("allheld:{sale_id}")))
            .arg(&ticket)
            .arg(serde_json::to_string(&state).expect("ticket states serialise"))
            .arg(if put_back { "1" } else { "0" })
            .arg(ALL_HELD_RETRY.as_millis() as u64 * 3)
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        if sold_out {
            let _: i64 = self
                .scripts
                .sell_out
                .key(&queue)
                .arg(&self.prefix)
                .invoke_async(&mut redis)
                .await
                .map_err(unavailable)?;
        }
        Ok(put_back)
    }
}
