//! Snapshots: the cached state of one aggregate, so a long stream loads fast.

use super::*;

/// A cached state of one aggregate as of `last_sequence`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub last_sequence: i64,
    pub payload: serde_json::Value,
}

impl EventStore {
    /// The newest snapshot of an aggregate, if one was taken.
    pub async fn load_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<Snapshot>, StoreError> {
        const QUERY: &str = "SELECT last_sequence, CAST(payload AS TEXT) FROM snapshots
             WHERE aggregate_type = $1 AND aggregate_id = $2
             ORDER BY last_sequence DESC LIMIT 1";
        let row: Option<(i64, String)> = on_read_pool!(&self.db, pool => {
            sqlx::query_as(QUERY).bind(aggregate_type).bind(aggregate_id).fetch_optional(pool).await?
        });
        row.map(|(last_sequence, text)| {
            Ok(Snapshot {
                last_sequence,
                payload: parse_payload(&text, -last_sequence)?,
            })
        })
        .transpose()
    }

    /// Keep `snapshot` as the aggregate's newest, dropping older ones. Best effort:
    /// a snapshot is a cache, and the log stays the truth.
    pub async fn save_snapshot(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        snapshot: &Snapshot,
    ) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4) ON CONFLICT DO NOTHING";
        // PostgreSQL's payload column is `json`: the text needs the cast.
        const INSERT_JSON: &str = "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4::json) ON CONFLICT DO NOTHING";
        const PRUNE: &str = "DELETE FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3";
        let payload = snapshot.payload.to_string();
        match &self.db {
            Database::Sqlite { writer, .. } => {
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(INSERT)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .bind(&payload)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PRUNE)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(INSERT_JSON)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .bind(&payload)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PRUNE)
                    .bind(aggregate_type)
                    .bind(aggregate_id)
                    .bind(snapshot.last_sequence)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
