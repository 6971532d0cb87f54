//! Cold loads gathered: on PostgreSQL, the loads that wait while others are under
//! way are read together, many aggregates in one query, the way the group
//! committer writes many aggregates' batches in one transaction. Commands on many
//! different aggregates (bookings on distinct listings) each start with a load;
//! one statement each was most of what the database did for them.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::postgres::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::postgres::HeldConnections;
use crate::snapshots::{Loaded, LoadedRows};
use crate::StoreError;

/// Queries under way at once; what arrives meanwhile waits and joins the next.
const LOADS_IN_FLIGHT: usize = 2;
/// Most aggregates one query loads.
const MOST_PER_QUERY: usize = 256;
/// Loads waiting before callers are made to wait to queue.
const QUEUE: usize = 65_536;

/// Handle to the task that gathers cold loads.
#[derive(Debug, Clone)]
pub(crate) struct Loader {
    requests: mpsc::Sender<Request>,
}

#[derive(Debug)]
struct Request {
    aggregate_type: String,
    aggregate_id: String,
    reply: oneshot::Sender<Result<Loaded, StoreError>>,
}

impl Loader {
    /// Start the task; it ends when every handle is dropped.
    pub(crate) fn spawn(pool: PgPool) -> Self {
        let (requests, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue));
        Self { requests }
    }

    /// The newest snapshot of one aggregate and its events after it.
    pub(crate) async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Loaded, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: aggregate_id.to_string(),
            reply,
        };
        let stopped = || StoreError::Load("the loader has stopped".into());
        self.requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: PgPool, queue: mpsc::Receiver<Request>) {
    // The query is planned once per connection, not at each call: with the ids'
    // array as a parameter PostgreSQL kept planning it afresh (a custom plan
    // looked cheaper than a generic one for a few ids), and planning cost more than
    // the reads (0.23 against 0.17 ms a call, the most expensive statement of stay
    // bookings). Its plan reads through the primary keys for any number of ids;
    // with no sequential scan it does so on an empty log too, where the plan of a
    // new connection is made.
    let options = (*pool.connect_options()).clone().options([
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
    ]);
    let connections = Arc::new(HeldConnections::new(options));
    let serve = |group: Vec<Request>| {
        let connections = connections.clone();
        async move { load_together(&connections, group).await }
    };
    crate::groups::serve_in_groups(queue, LOADS_IN_FLIGHT, MOST_PER_QUERY, |_| 1, serve).await;
}

/// Rows of kind 0 are snapshots (their sequence is `last_sequence`), of kind 1
/// events after the newest snapshot, per aggregate. The newest snapshot is looked up
/// once per id (the ids are distinct), not once per event row.
const QUERY: &str = "SELECT aggregate_id, 0 AS kind, last_sequence AS sequence,
        CAST(0 AS BIGINT) AS position, '' AS event_version, CAST(payload AS TEXT) AS payload
     FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = ANY($2)
     UNION ALL
     SELECT e.aggregate_id, 1, e.sequence, e.position, e.event_version, CAST(e.payload AS TEXT)
     FROM unnest($2) AS ids(id)
     CROSS JOIN LATERAL (SELECT COALESCE(MAX(s.last_sequence), 0) AS after FROM snapshots s
                         WHERE s.aggregate_type = $1 AND s.aggregate_id = ids.id) snapshot
     JOIN events e ON e.aggregate_type = $1 AND e.aggregate_id = ids.id
                  AND e.sequence > snapshot.after
     ORDER BY 1, 2, 3";

/// A row of [`QUERY`]: the aggregate's id, then a row of [`LoadedRows`].
type RowOfAggregate = (String, i32, i64, i64, String, String);

/// The rows of [`QUERY`] for `ids`, on a kept connection.
async fn read_rows(
    connections: &HeldConnections,
    aggregate_type: &str,
    ids: &[&str],
) -> Result<Vec<RowOfAggregate>, sqlx::Error> {
    let mut connection = connections.take().await?;
    let rows = sqlx::query_as(QUERY)
        .bind(aggregate_type)
        .bind(ids)
        .fetch_all(&mut connection)
        .await?;
    connections.give_back(connection);
    Ok(rows)
}

/// Load every waiting aggregate, one query per aggregate type, and answer each.
async fn load_together(connections: &HeldConnections, waiting: Vec<Request>) {
    let mut by_type: HashMap<String, Vec<Request>> = HashMap::new();
    for request in waiting {
        by_type
            .entry(request.aggregate_type.clone())
            .or_default()
            .push(request);
    }
    for (aggregate_type, requests) in by_type {
        let mut ids: Vec<&str> = requests.iter().map(|r| r.aggregate_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = read_rows(connections, &aggregate_type, &ids).await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(error) => {
                let message = error.to_string();
                for request in requests {
                    let _ = request.reply.send(Err(StoreError::Load(message.clone())));
                }
                continue;
            }
        };
        let mut per_id: HashMap<String, LoadedRows> = HashMap::new();
        for (aggregate_id, kind, sequence, position, event_version, payload) in rows {
            per_id.entry(aggregate_id).or_default().push((
                kind,
                sequence,
                position,
                event_version,
                payload,
            ));
        }
        // Each id's rows go to its last request whole; only an id asked for twice in
        // one group (two loads of one aggregate) is copied for the earlier one.
        let mut later = std::collections::HashSet::new();
        let mut takes: Vec<bool> = (requests.iter().rev())
            .map(|request| later.insert(request.aggregate_id.as_str()))
            .collect();
        takes.reverse();
        for (request, takes) in requests.into_iter().zip(takes) {
            let rows = if takes {
                per_id.remove(&request.aggregate_id)
            } else {
                per_id.get(&request.aggregate_id).cloned()
            };
            let _ = request
                .reply
                .send(crate::snapshots::fold_loaded(rows.unwrap_or_default()));
        }
    }
}
