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

use commands::CommandService;
use redis::aio::ConnectionManager;
use tokio::sync::Semaphore;

use crate::scripts::Scripts;
use crate::settle::{settle, Settled};
use crate::{
    queue_metadata, AdmissionError, AdmissionSettings, Admitted, TicketState, TicketView,
    ALL_HELD_RETRY, TICKET_LAPSE, TICKET_RETENTION,
};

/// Queued purchases one node's dispatcher runs at once for a sale.
const DISPATCH_IN_FLIGHT: usize = 64;
/// How long a dispatcher may work on a ticket before another node puts it back.
const PROCESSING_LEASE_MS: u64 = 10_000;

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
            scripts: Scripts::load(),
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
                    crate::wait_for_a_unit(&mut changes).await;
                }
                let permit = crate::dispatch_slot(&in_flight).await;
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
        let (state, put_back) = match settle(outcome) {
            Settled::Admitted(state) | Settled::Refused(state) => (state, false),
            Settled::AllHeld => (TicketState::AllHeld, true),
            Settled::SoldOut => (TicketState::SoldOut, false),
            // Left in processing: it goes back to its place when the lease ends.
            Settled::Failed(error) => return Err(AdmissionError(error.to_string())),
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
