//! The log's newest records in memory, read once for every reader in the process.
//!
//! A process follows the log with a dozen readers (projections, copies in memory,
//! process managers). Reading the database each after every commit cost two
//! statements per reader per commit, which was most of the database's work under a
//! steady stream of small commands. The tail reads once per commit it hears of and
//! keeps the newest records; readers take them from memory through
//! [`Database::read_recent`], and fall back to the database for what the tail does
//! not hold (older records, or a commit the tail has not read yet). Readers wait on
//! [`LogTail::reached`] so they look when the tail has the records.
//!
//! Commits are numbered in commit order, so a read after position `p` that sees
//! the known head `h` (known before it ran) holds every record in `(p, h]`: the tail
//! and every reader rely on that, never on positions being contiguous.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::source::{EventSource, LogError, LogRecord};
use crate::Database;

/// Records the tail keeps; a reader further behind reads the database.
const KEPT: usize = 65_536;
/// Records read per round.
const BATCH: i64 = 10_000;

/// The records after a position and the position a reader reaches by taking them.
#[derive(Debug)]
pub struct Recent {
    pub records: Vec<LogRecord>,
    /// Every record wanted up to here is in `records`: the reader may go on from it.
    pub reached: i64,
    /// The answer was cut at `limit`: there may be more right after.
    pub full: bool,
}

/// The newest records of the log, kept in memory (see the module's notes).
#[derive(Debug)]
pub struct LogTail {
    /// The last position committed, as the store hears of it.
    heard: watch::Receiver<i64>,
    kept: RwLock<Kept>,
    reached: watch::Sender<i64>,
    following: AtomicBool,
    /// Records taken from this process's appends rather than read back.
    handed_over: AtomicU64,
}

/// Every record with a position in `(after, reached]`, in order.
#[derive(Debug)]
struct Kept {
    after: i64,
    reached: i64,
    records: VecDeque<LogRecord>,
}

impl LogTail {
    /// A tail holding nothing yet, as of `head`, told of commits by `heard`.
    pub(crate) fn new(heard: watch::Receiver<i64>, head: i64) -> Self {
        Self {
            heard,
            kept: RwLock::new(Kept {
                after: head,
                reached: head,
                records: VecDeque::new(),
            }),
            reached: watch::channel(head).0,
            following: AtomicBool::new(false),
            handed_over: AtomicU64::new(0),
        }
    }

    /// The last position committed, as the store hears of it (every record up to it
    /// is visible to a read that starts now).
    pub fn heard(&self) -> i64 {
        *self.heard.borrow()
    }

    /// The position up to which the tail holds every record: what readers wait on.
    pub fn reached(&self) -> watch::Receiver<i64> {
        self.reached.subscribe()
    }

    /// How many records the tail took from this process's appends, rather than
    /// reading them back.
    pub fn handed_over(&self) -> u64 {
        self.handed_over.load(Ordering::Relaxed)
    }

    /// Whether the tail reads the log (else it holds nothing).
    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Start reading the log after every commit heard of (once; later calls do
    /// nothing). The task ends when the store that hears of commits is dropped.
    pub(crate) fn follow(self: &Arc<Self>, db: Database) {
        if self.following.swap(true, Ordering::AcqRel) {
            return;
        }
        let tail = self.clone();
        tokio::spawn(async move {
            let mut heard = tail.heard.clone();
            loop {
                let target = *heard.borrow_and_update();
                let after = tail.kept().reached;
                if target > after {
                    match db.read_after(after, BATCH).await {
                        Ok(records) => tail.take(records, target),
                        Err(error) => {
                            tracing::warn!(%error, "reading the log's tail failed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    continue;
                }
                if heard.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    fn kept(&self) -> std::sync::RwLockReadGuard<'_, Kept> {
        self.kept.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep `records`, read after the tail's position once `target` was heard of.
    /// An append may have handed over some of them meanwhile: those are kept once.
    fn take(&self, records: Vec<LogRecord>, target: i64) {
        let full = records.len() as i64 == BATCH;
        let reached = {
            let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
            let last = records.last().map_or(kept.reached, |r| r.position);
            let read_to = if full { last } else { last.max(target) };
            let new = records.partition_point(|r| r.position <= kept.reached);
            kept.records.extend(records.into_iter().skip(new));
            kept.reached = kept.reached.max(read_to);
            kept.trim();
            kept.reached
        };
        self.publish(reached);
    }

    /// Take the records an append of this process just wrote (in position order),
    /// given the last position committed before them: kept when the tail holds every
    /// record up to there, so nothing can lie between. Else (another process wrote
    /// in between, or an earlier append of ours is not handed over yet) the tail
    /// reads them as it reads every commit. `records` is made only when kept.
    pub(crate) fn offer(&self, after: i64, records: impl FnOnce() -> Vec<LogRecord>) {
        if !self.is_following() || self.kept().reached != after {
            return;
        }
        let records = records();
        let Some(last) = records.last().map(|r| r.position) else {
            return;
        };
        {
            let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
            // The tail may have read on meanwhile.
            if kept.reached != after {
                return;
            }
            self.handed_over
                .fetch_add(records.len() as u64, Ordering::Relaxed);
            kept.records.extend(records);
            kept.reached = last;
            kept.trim();
        }
        self.publish(last);
    }

    /// Tell readers the tail holds every record up to `reached`.
    fn publish(&self, reached: i64) {
        self.reached.send_if_modified(|current| {
            let advanced = reached > *current;
            *current = (*current).max(reached);
            advanced
        });
    }

    /// Up to `limit` records after `after` (of `aggregate_type` only, if given), when
    /// the tail can answer: it holds the records after `after`, and either has some
    /// or has read every commit heard of (else the database may hold more).
    pub fn read(&self, after: i64, aggregate_type: Option<&str>, limit: i64) -> Option<Recent> {
        self.read_where(
            after,
            |record| aggregate_type.is_none_or(|wanted| record.aggregate_type == wanted),
            limit,
        )
    }

    /// [`read`](Self::read) of the records `wanted` takes: the others are passed
    /// over without being copied.
    pub fn read_where(
        &self,
        after: i64,
        wanted: impl Fn(&LogRecord) -> bool,
        limit: i64,
    ) -> Option<Recent> {
        let kept = self.kept();
        if after < kept.after || (after >= kept.reached && self.heard() > kept.reached) {
            return None;
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let first = kept.records.partition_point(|r| r.position <= after);
        let mut records = Vec::new();
        for record in kept.records.range(first..) {
            if !wanted(record) {
                continue;
            }
            if records.len() == limit {
                break;
            }
            records.push(record.clone());
        }
        let full = records.len() == limit;
        let reached = match (full, records.last()) {
            (true, Some(last)) => last.position,
            _ => kept.reached,
        };
        Some(Recent {
            records,
            reached: reached.max(after),
            full,
        })
    }
}

impl Kept {
    /// Drop the oldest records beyond what the tail keeps.
    fn trim(&mut self) {
        while self.records.len() > KEPT {
            if let Some(dropped) = self.records.pop_front() {
                self.after = dropped.position;
            }
        }
    }
}

impl Database {
    /// The last position committed as this process heard of it (0 without a store):
    /// a reader that wants everything committed so far reads until it reaches this,
    /// since the tail may answer with fewer records than the database holds.
    pub fn heard_head(&self) -> i64 {
        self.tail().map_or(0, |tail| tail.heard())
    }

    /// Up to `limit` records after `after` (of `aggregate_type` only, if given) and
    /// the position a reader reaches by taking them: from the tail in memory when it
    /// holds them, else from the database. The tail may not have read the newest
    /// commits yet: a follower woken by [`LogTail::reached`] takes what it has, and
    /// one that wants every commit heard of reads on to [`heard_head`](Self::heard_head).
    pub async fn read_recent(
        &self,
        after: i64,
        aggregate_type: Option<&str>,
        limit: i64,
    ) -> Result<Recent, LogError> {
        let tail = self.tail();
        if let Some(recent) = tail.and_then(|tail| tail.read(after, aggregate_type, limit)) {
            return Ok(recent);
        }
        // Known before the read: every record up to it is visible to the read.
        let head = match tail {
            Some(tail) => tail.heard(),
            None => self.head().await?,
        };
        let records = match aggregate_type {
            Some(aggregate_type) => self.read_type_after(aggregate_type, after, limit).await?,
            None => self.read_after(after, limit).await?,
        };
        let full = records.len() as i64 == limit;
        let last = records.last().map_or(after, |r| r.position);
        let reached = if full { last } else { last.max(head) };
        Ok(Recent {
            records,
            reached: reached.max(after),
            full,
        })
    }

    /// [`read_recent`](Self::read_recent) of every type, keeping only the records
    /// `wanted` takes: a reader of a few kinds of record no longer copies the rest
    /// out of the tail. `limit` counts the records kept when the tail answers, and
    /// every record read when the database does.
    pub async fn read_recent_where(
        &self,
        after: i64,
        wanted: impl Fn(&LogRecord) -> bool,
        limit: i64,
    ) -> Result<Recent, LogError> {
        if let Some(recent) = self
            .tail()
            .and_then(|tail| tail.read_where(after, &wanted, limit))
        {
            return Ok(recent);
        }
        let mut recent = self.read_recent(after, None, limit).await?;
        recent.records.retain(|record| wanted(record));
        Ok(recent)
    }
}
